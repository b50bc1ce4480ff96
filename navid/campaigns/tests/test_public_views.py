from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from navid.campaigns.models import Event, Invitation, MessageResponse, OutboxMessage
from navid.campaigns.public_views import PIXEL
from navid.campaigns.tests.factories import BrandFactory, CampaignFactory, MessageTemplateFactory
from navid.campaigns.tests.responses_helpers import fast_passwords, message_make
from navid.campaigns.tokens import message_token
from navid.customers.models import Consent, Customer

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]


def _path(message: OutboxMessage, purpose: str) -> str:
    return f"/r/{purpose}/{message_token(message_id=message.pk, purpose=purpose)}/"


@pytest.fixture
def public() -> Client:
    """A browser with no cookies that enforces CSRF like a real one."""
    return Client(enforce_csrf_checks=True)


def test_the_pixel_is_a_gif_that_is_never_cached_and_records_the_open(public: Client) -> None:
    message = message_make()
    response = public.get(_path(message, "open"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content == PIXEL
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size, image.info.get("transparency")) == ("GIF", (1, 1), 0)
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    assert OutboxMessage.objects.get(pk=message.pk).opened_at is not None


def test_a_tampered_token_gets_a_clear_page_in_the_visitors_language_not_an_error(public: Client) -> None:
    message = message_make()
    token = message_token(message_id=message.pk, purpose="open")
    response = public.get(f"/r/open/{token[:-3]}abc/", HTTP_ACCEPT_LANGUAGE="fa")

    assert response.status_code == 404
    assert '<html lang="fa" dir="rtl">' in response.content.decode()
    assert not MessageResponse.objects.exists()


@pytest.mark.parametrize("purpose", ["click", "unsubscribe", "rsvp"])
def test_a_token_made_for_another_purpose_is_not_accepted(public: Client, purpose: str) -> None:
    message = message_make()
    token = message_token(message_id=message.pk, purpose="open")
    assert public.get(f"/r/{purpose}/{token}/").status_code == 404


def test_a_token_of_a_message_that_no_longer_exists_gets_404(public: Client) -> None:
    message = message_make()
    path = _path(message, "unsubscribe")
    message.delete()
    response = public.get(path)
    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_an_unsubscribe_for_a_customer_who_is_gone_gets_404(public: Client) -> None:
    message = message_make()
    path = _path(message, "unsubscribe")
    Customer.objects.filter(pk=message.customer_id)._raw_delete(Customer.objects.db)  # as a raw purge would
    response = public.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 404
    assert not Consent.objects.exists()


def test_a_click_redirects_to_the_campaigns_link_without_leaking_the_token(public: Client) -> None:
    campaign = CampaignFactory()
    MessageTemplateFactory(campaign=campaign, body="https://bank.example/offer")
    message = message_make(campaign=campaign)

    response = public.get(_path(message, "click"), {"u": "https://bank.example/offer"})

    assert response.status_code == 302
    assert response["Location"] == "https://bank.example/offer"
    assert response["Referrer-Policy"] == "no-referrer"
    assert OutboxMessage.objects.get(pk=message.pk).clicked_at is not None


def test_a_click_to_a_foreign_site_gets_400_in_the_customers_language(public: Client) -> None:
    campaign = CampaignFactory()
    MessageTemplateFactory(campaign=campaign, body="https://bank.example/offer")
    message = message_make(campaign=campaign, language="fa")

    response = public.get(_path(message, "click"), {"u": "https://evil.example/"})

    assert response.status_code == 400
    body = response.content.decode()
    assert '<html lang="fa" dir="rtl">' in body
    assert "مقصد جزو پیوندهای این کمپین نیست." in body
    assert "Location" not in response


def test_unsubscribe_asks_first_and_a_get_changes_nothing(public: Client) -> None:
    brand = BrandFactory(header_text="Navid Bank offers")
    message = message_make(campaign=CampaignFactory(brand=brand))

    response = public.get(_path(message, "unsubscribe"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Do you want to stop receiving offers from us by Email?" in body
    assert "Navid Bank offers" in body
    assert '<input type="hidden" name="confirm" value="yes">' in body
    assert not Consent.objects.exists()


@pytest.mark.parametrize(("color", "shown"), [("#123456", "#123456"), ("red;}x", "#0b5394")])
def test_the_page_wears_the_brands_colour_and_nothing_else(public: Client, color: str, shown: str) -> None:
    message = message_make(campaign=CampaignFactory(brand=BrandFactory(primary_color=color)))
    body = public.get(_path(message, "unsubscribe")).content.decode()
    assert f".public-band {{ background: {shown}; color: #fff; }}" in body


def test_one_click_unsubscribe_works_without_cookies_or_csrf_token(public: Client) -> None:
    message = message_make()
    response = public.post(
        _path(message, "unsubscribe"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    consent = Consent.objects.get(customer_id=message.customer_id)
    assert (consent.channel, consent.purpose, consent.granted, consent.source) == (
        "email",
        "marketing",
        False,
        "unsubscribe link",
    )


def test_the_confirm_button_unsubscribes_and_says_so(public: Client) -> None:
    message = message_make(channel="sms", language="ru")
    response = public.post(_path(message, "unsubscribe"), {"confirm": "yes"})

    assert response.status_code == 200
    assert '<html lang="ru" dir="ltr">' in response.content.decode()
    assert Consent.objects.get(customer_id=message.customer_id).granted is False


def test_a_post_that_says_nothing_changes_nothing(public: Client) -> None:
    message = message_make()
    assert public.post(_path(message, "unsubscribe"), {"other": "x"}).status_code == 400
    assert not Consent.objects.exists()


def _event_message(**kwargs: Any) -> OutboxMessage:
    campaign = CampaignFactory()
    Event.objects.create(
        campaign=campaign,
        title="Investor evening",
        place="Tehran, Vali-e Asr 12",
        starts_at=timezone.now() + timedelta(days=3),
        **kwargs,
    )
    return message_make(campaign=campaign, channel="event", language="fa")


def test_the_rsvp_page_is_persian_right_to_left_and_answers_without_javascript(public: Client) -> None:
    message = _event_message()
    page = public.get(_path(message, "rsvp"))

    body = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="fa" dir="rtl">' in body
    assert "Investor evening" in body and "<script" not in body
    assert 'name="answer" value="yes"' in body

    answered = public.post(_path(message, "rsvp"), {"answer": "yes"})

    assert answered.status_code == 200
    assert "<svg" in answered.content.decode()  # the QR code to show at the door
    assert Invitation.objects.get().rsvp == "yes"


def test_an_rsvp_when_the_seats_are_gone_says_so(public: Client) -> None:
    message = _event_message(capacity=1)
    first = message_make(campaign=message.campaign, channel="event")
    public.post(_path(first, "rsvp"), {"answer": "yes"})

    response = public.post(_path(message, "rsvp"), {"answer": "yes"})

    assert response.status_code == 409
    assert "متأسفیم، همه صندلی‌ها پر شده است." in response.content.decode()


def test_an_rsvp_for_a_campaign_without_event_gets_404(public: Client) -> None:
    message = message_make()
    assert public.get(_path(message, "rsvp")).status_code == 404
    assert public.post(_path(message, "rsvp"), {"answer": "maybe"}).status_code == 404
