from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from navid.accounts.models import AuditEntry
from navid.campaigns import tracking
from navid.campaigns.execution import sms_inbound_apply
from navid.campaigns.models import Event, Invitation, MessageResponse, OutboxMessage, Rsvp
from navid.campaigns.tests.factories import CampaignFactory, MessageTemplateFactory
from navid.campaigns.tests.responses_helpers import fast_passwords, message_make
from navid.channels.inbound_mail import InboundMail
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.models import Consent
from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import Interaction

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]


def _interactions(message: OutboxMessage) -> list[tuple[str, str, str, str, int | None, str]]:
    return list(
        Interaction.objects.filter(customer_id=message.customer_id)
        .order_by("pk")
        .values_list("kind", "channel", "direction", "outcome", "campaign_id", "source")
    )


def test_an_open_is_recorded_once_however_often_the_pixel_loads() -> None:
    message = message_make()

    assert tracking.message_open_record(message_id=message.pk) is True
    first = OutboxMessage.objects.get(pk=message.pk).opened_at
    assert tracking.message_open_record(message_id=message.pk) is False

    message.refresh_from_db()
    assert message.opened_at == first is not None
    assert list(MessageResponse.objects.values_list("message_id", "kind")) == [(message.pk, "opened")]
    assert _interactions(message) == [
        ("email", "email", "inbound", "completed", message.campaign_id, "campaign:opened")
    ]


def test_a_click_on_a_campaign_link_with_a_personal_field_is_followed_and_counts_as_an_open() -> None:
    campaign = CampaignFactory()
    MessageTemplateFactory(
        campaign=campaign,
        body="Open it at https://bank.example/deposit?c={customer_number}. {unsubscribe_url}",
    )
    message = message_make(campaign=campaign)

    destination = tracking.message_click_record(
        message_id=message.pk, target="https://bank.example/deposit?c=81"
    )
    tracking.message_click_record(message_id=message.pk, target="https://bank.example/deposit?c=81")

    assert destination == "https://bank.example/deposit?c=81"
    message.refresh_from_db()
    assert message.clicked_at is not None and message.opened_at == message.clicked_at
    assert sorted(MessageResponse.objects.values_list("kind", flat=True)) == ["clicked", "opened"]
    assert _interactions(message) == [
        ("web_visit", "web", "inbound", "interested", campaign.pk, "campaign:clicked"),
        ("email", "email", "inbound", "completed", campaign.pk, "campaign:opened"),
    ]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/deposit?c=81",
        "https://bank.example.evil.example/deposit?c=81",
        "https://bank.example/deposit?c=81/../../x",
        "https://bank.example/deposit?c=1@evil.example",
        "https://bank.example/deposit?c=81#x",
        "https://bank.example/other",
        "javascript:alert(1)",
        "//evil.example/",
        "",
    ],
)
def test_a_click_to_anywhere_else_is_refused_and_not_recorded(target: str) -> None:
    campaign = CampaignFactory()
    MessageTemplateFactory(campaign=campaign, body="See https://bank.example/deposit?c={customer_number}.")
    message = message_make(campaign=campaign)

    with pytest.raises(ValidationFailed) as caught:
        tracking.message_click_record(message_id=message.pk, target=target)

    assert list(caught.value.errors) == ["u"]
    assert not MessageResponse.objects.exists()
    assert OutboxMessage.objects.get(pk=message.pk).clicked_at is None


def test_a_link_of_another_campaign_is_refused() -> None:
    MessageTemplateFactory(body="https://other.example/offer")
    message = message_make()
    with pytest.raises(ValidationFailed):
        tracking.message_click_record(message_id=message.pk, target="https://other.example/offer")


def test_unsubscribe_withdraws_marketing_consent_on_the_message_channel_with_its_source_and_audit() -> None:
    customer = CustomerFactory()
    Consent.objects.create(
        customer=customer, channel="sms", purpose="marketing", granted=True, source="branch"
    )
    Consent.objects.create(
        customer=customer, channel="email", purpose="marketing", granted=True, source="branch"
    )
    message = message_make(customer=customer, channel="sms")

    tracking.message_unsubscribe(message_id=message.pk)
    tracking.message_unsubscribe(message_id=message.pk)

    consents = {
        (c.channel, c.purpose): (c.granted, c.source) for c in Consent.objects.filter(customer=customer)
    }
    assert consents == {
        ("sms", "marketing"): (False, "unsubscribe link"),
        ("email", "marketing"): (True, "branch"),
    }
    audit = AuditEntry.objects.get(model="customers.consent")
    assert (audit.actor_id, audit.record_id, audit.changes["granted"]) == (
        None,
        str(customer.pk),
        [True, False],
    )
    assert _interactions(message) == [
        ("request", "web", "inbound", "not_interested", message.campaign_id, "campaign:unsubscribed")
    ]


def test_unsubscribe_without_an_earlier_consent_records_a_refusal() -> None:
    message = message_make(channel="email")
    tracking.message_unsubscribe(message_id=message.pk)
    consent = Consent.objects.get(customer_id=message.customer_id)
    assert (consent.channel, consent.purpose, consent.granted) == ("email", "marketing", False)


@pytest.mark.parametrize(
    ("address", "channel"),
    [("guest@example.com", "email"), ("+98 912 123 4567", "sms"), ("Tehran, Azadi St. 5", "mail")],
)
def test_an_event_invitation_unsubscribes_from_the_channel_its_address_belongs_to(
    address: str, channel: str
) -> None:
    message = message_make(channel="event", address=address)
    assert tracking.consent_channel(message=message) == channel


def _event_message(*, capacity: int | None = None, hours: int = 48) -> OutboxMessage:
    campaign = CampaignFactory()
    Event.objects.create(
        campaign=campaign,
        title="Investor evening",
        place="Tehran",
        starts_at=timezone.now() + timedelta(hours=hours),
        capacity=capacity,
    )
    return message_make(campaign=campaign, channel="event")


def test_an_rsvp_records_the_answer_and_a_later_answer_replaces_it() -> None:
    message = _event_message()

    invitation = tracking.message_rsvp(message_id=message.pk, attending=True)
    assert (invitation.rsvp, invitation.customer_id) == (Rsvp.YES, message.customer_id)
    again = tracking.message_rsvp(message_id=message.pk, attending=True)
    changed = tracking.message_rsvp(message_id=message.pk, attending=False)

    assert again.pk == changed.pk == invitation.pk
    assert Invitation.objects.get().rsvp == Rsvp.NO
    assert [row[3] for row in _interactions(message)] == ["interested", "not_interested"]


def test_the_last_seat_goes_to_one_guest_only() -> None:
    message = _event_message(capacity=1)
    other = message_make(campaign=message.campaign, channel="event")
    tracking.message_rsvp(message_id=message.pk, attending=True)

    with pytest.raises(Conflict):
        tracking.message_rsvp(message_id=other.pk, attending=True)
    tracking.message_rsvp(message_id=other.pk, attending=False)
    assert dict(Invitation.objects.values_list("customer_id", "rsvp")) == {
        message.customer_id: "yes",
        other.customer_id: "no",
    }


def test_answers_close_when_the_event_starts() -> None:
    message = _event_message(hours=-1)
    with pytest.raises(Conflict):
        tracking.message_rsvp(message_id=message.pk, attending=True)
    assert not Invitation.objects.exists()


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
)


def _at_once(*calls: Callable[[], object]) -> list[BaseException | None]:
    """Run the calls in threads that start together; each returns None or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # reported to the test, which asserts on it
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_opens_arriving_together_are_counted_once() -> None:
    message = message_make()
    outcomes = _at_once(*[lambda: tracking.message_open_record(message_id=message.pk)] * 4)
    assert outcomes == [None] * 4
    assert MessageResponse.objects.filter(message=message).count() == 1
    assert Interaction.objects.filter(customer_id=message.customer_id).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_guests_answering_yes_together_for_the_last_seat_get_one_seat() -> None:
    first = _event_message(capacity=1)
    second = message_make(campaign=first.campaign, channel="event")
    outcomes = _at_once(
        lambda: tracking.message_rsvp(message_id=first.pk, attending=True),
        lambda: tracking.message_rsvp(message_id=second.pk, attending=True),
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Conflict", "NoneType"]
    assert Invitation.objects.filter(rsvp=Rsvp.YES).count() == 1


def _reply_from(sender: str, *answers: str, text: str = "Please call me") -> InboundMail:
    return InboundMail(
        sender=sender, subject="Re: offer", text=text, answers=answers, received_at=timezone.now()
    )


def test_an_email_reply_to_a_campaign_message_is_recorded_once_as_a_response() -> None:
    message = message_make(address="Reader@Example.com")
    our_id = f"<navid.{message.idempotency_key.replace(':', '.')}@bank.example>"

    first = tracking.email_reply_record(mail=_reply_from("reader@example.com", "<other@x>", our_id))
    second = tracking.email_reply_record(mail=_reply_from("reader@example.com", our_id))

    assert first is not None and first.message_id == message.pk
    assert second is None
    assert list(MessageResponse.objects.values_list("kind", "detail")) == [
        ("replied", "Re: offer\nPlease call me")
    ]
    assert _interactions(message) == [
        ("email", "email", "inbound", "completed", message.campaign_id, "campaign:replied")
    ]


def test_a_reply_from_another_address_or_to_no_message_of_ours_is_not_recorded() -> None:
    message = message_make()
    our_id = f"<navid.{message.idempotency_key.replace(':', '.')}@bank.example>"
    assert tracking.email_reply_record(mail=_reply_from("someone@else.example", our_id)) is None
    assert (
        tracking.email_reply_record(mail=_reply_from("customer@example.com", "<navid.9.9.9.email@x>")) is None
    )
    assert MessageResponse.objects.count() == 0


def test_an_sms_reply_answers_the_latest_campaign_sms_to_that_number() -> None:
    now = timezone.now()
    customer = CustomerFactory()
    older = message_make(customer=customer, channel="sms", sent_at=now - timedelta(days=3))
    latest = message_make(customer=customer, channel="sms", wave=2, sent_at=now - timedelta(hours=1))

    response = tracking.sms_reply_record(sender="989121234567", text=" Yes ", at=now)

    assert response is not None and response.message_id == latest.pk != older.pk
    assert (response.kind, response.detail) == ("replied", "Yes")
    assert tracking.sms_reply_record(sender="+989129999999", text="Yes", at=now) is None


def test_an_sms_that_is_not_stop_reaches_the_campaign_as_a_reply_and_keeps_consent() -> None:
    now = timezone.now()
    message = message_make(channel="sms", sent_at=now - timedelta(hours=1))
    assert sms_inbound_apply(sender="+989121234567", text="Interested", at=now) == 0
    assert list(MessageResponse.objects.values_list("message_id", "kind")) == [(message.pk, "replied")]
    assert not Consent.objects.exists()
