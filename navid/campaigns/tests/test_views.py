"""Campaign pages: list, calendar (Jalali in Persian), the plan form, a campaign's page with its actions,
progress, previews, exports and brand layouts."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from celery import current_app
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from navid.accounts.roles import Role
from navid.campaigns import services
from navid.campaigns.models import Brand, Campaign, OutboxMessage, OutboxState, State
from navid.campaigns.tests.factories import BrandFactory
from navid.campaigns.tests.plan_helpers import fast_passwords, plan, segment
from navid.customers.tests.factories import CustomerFactory
from navid.offers.tests.factories import OfferFactory

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]
HTMX = {"HX-Request": "true"}


def _login(user: Any, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.fixture
def people(make_user: Any) -> dict[str, Any]:
    return {
        "maker": make_user(Role.CAMPAIGN_MANAGER, username="maker"),
        "director": make_user(Role.MARKETING_DIRECTOR, username="director"),
        "analyst": make_user(Role.MARKETING_ANALYST, username="analyst"),
        "admin": make_user(Role.ADMINISTRATOR, username="admin"),
    }


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args=None, **kw: calls.append((name, args)))
    return calls


def _draft(people: dict[str, Any], maker: str = "maker") -> Campaign:
    return services.campaign_create(
        actor=people[maker],
        plan=plan(owner=people[maker], target=segment(), offer=OfferFactory(), brand=BrandFactory()),
    )


def _form_data(people: dict[str, Any], **changes: str) -> dict[str, Any]:
    target = segment("Salary customers")
    data = {
        "name": "Deposit for salary customers",
        "goal": "cross_sell",
        "description": "Plan",
        "owner": str(people["maker"].pk),
        "target_segments": [str(target.pk)],
        "offer": str(OfferFactory().pk),
        "brand": str(BrandFactory().pk),
        "starts_at": "2026-12-01 09:00",
        "ends_at": "2026-12-31 18:00",
        "waves_max": "2",
        "repeat_every_days": "7",
        "response_window_days": "30",
        "control_percent": "10",
        "control_seed": "",
        "budget_planned": "2000000",
        "ch_email_use": "on",
        "ch_email_priority": "1",
        "ch_email_unit_cost": "50",
        "ch_email_planned_cost": "1000000",
        "ch_email_rate_per_second": "200",
        "tpl_email_fa_subject": "پیشنهاد ویژه",
        "tpl_email_fa_body": "{first_name} گرامی، سپرده ویژه برای شما.",
        "tpl_email_en_subject": "An offer",
        "tpl_email_en_body": "Dear {first_name}, a deposit for you.",
    }
    data.update(changes)
    return data


def test_the_navigation_and_list_show_campaigns_and_only_planners_get_the_new_button(
    people: dict[str, Any],
) -> None:
    campaign = _draft(people)

    page = _login(people["maker"]).get("/campaigns/").content.decode()
    assert 'href="/campaigns/"' in page
    assert f'data-campaign="{campaign.pk}"' in page
    assert 'id="new-campaign"' in page

    page = _login(people["analyst"]).get("/campaigns/").content.decode()
    assert f'data-campaign="{campaign.pk}"' in page
    assert 'id="new-campaign"' not in page


def test_a_manager_creates_a_campaign_from_the_form(people: dict[str, Any]) -> None:
    client = _login(people["maker"])
    assert client.get("/campaigns/new/").status_code == 200

    response = client.post("/campaigns/new/", _form_data(people))

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.state == State.DRAFT
    assert campaign.starts_at == timezone.make_aware(dt.datetime(2026, 12, 1, 9, 0))
    assert campaign.control_seed is not None
    assert list(campaign.channel_plans.values_list("channel", "rate_per_second")) == [("email", 200)]
    assert sorted(campaign.templates.values_list("language", flat=True)) == ["en", "fa"]


def test_a_jalali_start_in_persian_digits_is_read(people: dict[str, Any]) -> None:
    client = _login(people["maker"], "fa")
    response = client.post(
        "/campaigns/new/", _form_data(people, starts_at="۱۴۰۵/۰۹/۱۰ ۰۹:۰۰", ends_at="1405/10/10 18:00")
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.starts_at == timezone.make_aware(dt.datetime(2026, 12, 1, 9, 0))
    assert campaign.ends_at == timezone.make_aware(dt.datetime(2026, 12, 31, 18, 0))


def test_a_bad_plan_shows_each_error_at_its_field_and_saves_nothing(people: dict[str, Any]) -> None:
    data = _form_data(
        people,
        ends_at="2026-11-01 09:00",
        tpl_email_en_body="Dear {first_nam}",
        ch_sms_use="on",
        budget_planned="-5",
    )
    del data["target_segments"]

    response = _login(people["maker"]).post("/campaigns/new/", data)

    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="form-errors"' in page
    assert (
        '<div class="invalid-feedback d-block" data-field="ends_at">The end must be after the start.</div>'
        in page
    )
    assert 'data-field="target_segments">Choose at least one target segment.</div>' in page
    assert 'data-field="budget_planned">The budget cannot be negative.</div>' in page
    assert 'data-field="tpl_email_en_body">Unknown fields: {first_nam}.' in page
    assert 'data-field="ch_sms_use">Write the message of “SMS” in at least one language.</div>' in page
    assert Campaign.objects.count() == 0


def test_an_unreadable_date_is_reported_at_the_field(people: dict[str, Any]) -> None:
    response = _login(people["maker"]).post("/campaigns/new/", _form_data(people, starts_at="1405/13/40"))
    assert response.status_code == 422
    assert 'data-field="starts_at">Not a date: write it as 2026-12-01 09:00 or 1405/09/10 09:00.</div>' in (
        response.content.decode()
    )


def test_the_page_shows_buttons_only_for_the_actions_the_user_may_take(people: dict[str, Any]) -> None:
    campaign = _draft(people)

    page = _login(people["maker"]).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="campaign-state" data-state="draft"' in page
    assert 'id="action-update"' in page and 'id="action-submit"' in page
    assert 'id="action-approve"' not in page and 'id="action-launch"' not in page

    services.campaign_submit(campaign=campaign, actor=people["maker"])
    page = _login(people["maker"]).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="action-' not in page
    page = _login(people["director"]).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="action-approve"' in page and 'id="action-reject"' in page
    page = _login(people["analyst"]).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="action-' not in page


def test_the_maker_approving_gets_403_and_an_unapproved_launch_gets_409(people: dict[str, Any]) -> None:
    campaign = _draft(people, maker="admin")
    client = _login(people["admin"])

    response = client.post(f"/campaigns/{campaign.pk}/launch/")
    assert response.status_code == 409
    assert "The campaign has not been approved, so it cannot be launched." in response.content.decode()

    assert client.post(f"/campaigns/{campaign.pk}/submit/").status_code == 302
    response = client.post(f"/campaigns/{campaign.pk}/approve/")
    assert response.status_code == 403
    assert "cannot approve or reject it; another person must." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == State.SUBMITTED


def test_the_director_rejects_with_a_reason_then_approves_the_changed_plan(people: dict[str, Any]) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    director = _login(people["director"])

    response = director.post(f"/campaigns/{campaign.pk}/reject/", {"note": ""})
    assert response.status_code == 422
    assert "Say why the campaign is rejected." in response.content.decode()

    assert director.post(f"/campaigns/{campaign.pk}/reject/", {"note": "Too costly"}).status_code == 302
    page = _login(people["maker"]).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-state="rejected"' in page and "Too costly" in page
    assert "Submitted for approval → Rejected" in page and "Draft → Submitted for approval" in page

    services.campaign_submit(campaign=campaign, actor=people["maker"])
    assert director.post(f"/campaigns/{campaign.pk}/approve/", {"note": "OK now"}).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.state, campaign.approved_by) == (State.APPROVED, people["director"])


def test_a_running_campaign_cannot_be_edited_from_its_page(
    people: dict[str, Any], no_broker: list[Any]
) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    services.campaign_approve(campaign=campaign, actor=people["director"])
    client = _login(people["maker"])
    assert client.post(f"/campaigns/{campaign.pk}/launch/").status_code == 302

    response = client.get(f"/campaigns/{campaign.pk}/edit/")
    assert response.status_code == 409
    assert (
        "The campaign is running: it cannot be edited, only paused or stopped." in response.content.decode()
    )
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="action-pause"' in page and 'id="action-stop"' in page and 'id="action-update"' not in page


def test_the_progress_fragment_polls_while_running_and_counts_the_outbox(
    people: dict[str, Any], no_broker: list[Any]
) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    services.campaign_approve(campaign=campaign, actor=people["director"])
    services.campaign_launch(campaign=campaign, actor=people["maker"])
    customers = [CustomerFactory() for _ in range(4)]
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            campaign=campaign,
            customer=c,
            channel="email",
            language="en",
            address=f"{c.pk}@example.com",
            idempotency_key=f"{campaign.pk}:1:{c.pk}:email",
            state=state,
        )
        for c, state in zip(
            customers,
            [OutboxState.SENT, OutboxState.DELIVERED, OutboxState.FAILED, OutboxState.PENDING],
            strict=True,
        )
    )

    page = _login(people["maker"]).get(f"/campaigns/{campaign.pk}/progress/", headers=HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert 'aria-valuenow="75"' in page
    assert "2 sent of 4 messages; 1 failed; 1 waiting." in page

    services.campaign_stop(campaign=campaign, actor=people["maker"])
    page = _login(people["maker"]).get(f"/campaigns/{campaign.pk}/progress/", headers=HTMX).content.decode()
    assert "hx-trigger" not in page
    assert 'aria-valuenow="100"' in page


def test_persian_pages_are_right_to_left_with_a_jalali_calendar(people: dict[str, Any]) -> None:
    campaign = _draft(people)
    client = _login(people["maker"], "fa")

    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert '<html lang="fa" dir="rtl">' in page
    page = client.get(f"/campaigns/{campaign.pk}/preview/email/fa/").content.decode()
    assert 'dir="rtl" lang="fa" data-channel="email"' in page
    assert "مریم گرامی، سپرده ویژه برای شما." in page

    page = client.get("/campaigns/calendar/?year=1405&month=9").content.decode()
    assert 'id="calendar-title">آذر ۱۴۰۵</span>' in page
    assert 'data-jalali="true"' in page
    # 1 Azar 1405 is 22 November 2026, a Saturday: the first cell of the first week.
    assert '<td class="align-top" data-date="2026-11-22"' in page
    assert (
        page.count(f'data-campaign="{campaign.pk}"') == 21
    )  # Azar 1405 ends on 21 December: 1 to 21 December
    page = _login(people["maker"]).get("/campaigns/calendar/?year=2026&month=12").content.decode()
    assert 'data-jalali="false"' in page
    assert page.count(f'data-campaign="{campaign.pk}"') == 31


def test_the_draft_preview_shows_the_brand_layout_and_unknown_fields(people: dict[str, Any]) -> None:
    brand = BrandFactory(header_text="Navid Bank offers", primary_color="#112233")
    response = _login(people["maker"]).post(
        "/campaigns/preview/sms/fa/",
        {"brand": str(brand.pk), "tpl_sms_fa_body": "{first_name} عزیز {nope}"},
        headers=HTMX,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'dir="rtl" lang="fa" data-channel="sms"' in page
    assert "مریم عزیز {nope}" in page
    assert "Unknown fields:" in page and "{nope}" in page
    assert "1 SMS part" in page

    page = (
        _login(people["maker"])
        .post(
            "/campaigns/preview/email/en/",
            {"brand": str(brand.pk), "tpl_email_en_subject": "Hi {first_name}"},
        )
        .content.decode()
    )
    assert 'dir="ltr" lang="en"' in page and "Hi Sara" in page and "background: #112233" in page


def test_exports_download_csv_and_xlsx(people: dict[str, Any]) -> None:
    campaign = _draft(people)
    client = _login(people["analyst"])

    response = client.get(f"/campaigns/{campaign.pk}/results.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode().splitlines()[1] == "targeted,0"
    response = client.get(f"/campaigns/{campaign.pk}/results.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[2][:2]] == ["targeted", 0]
    assert client.get(f"/campaigns/{campaign.pk}/results.pdf").status_code == 404


def test_a_manager_creates_a_brand_layout_and_a_bad_colour_is_refused(people: dict[str, Any]) -> None:
    client = _login(people["maker"])
    data = {
        "name": "Navid Gold",
        "sender_name": "Navid Bank",
        "email_from": "gold@bank.example",
        "sms_sender": "NavidGold",
        "header_text": "Gold",
        "footer_text": "",
        "primary_color": "blue",
        "accent_color": "#FFCC00",
        "postal_address": "",
    }
    response = client.post("/campaigns/brands/new/", data)
    assert response.status_code == 422
    assert 'data-field="primary_color">A colour as #rrggbb.</div>' in response.content.decode()

    data["primary_color"] = "#0B5394"
    assert client.post("/campaigns/brands/new/", data).status_code == 302
    brand = Brand.objects.get(name="Navid Gold")
    assert (brand.primary_color, brand.accent_color) == ("#0b5394", "#ffcc00")
    assert _login(people["analyst"]).get("/campaigns/brands/new/").status_code == 403


def test_the_edit_form_shows_the_saved_plan_in_the_users_calendar(people: dict[str, Any]) -> None:
    campaign = _draft(people)

    page = _login(people["maker"], "fa").get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="۱۴۰۵/۰۹/۱۰ ۰۹:۰۰"' in page  # 1 December 2026, 09:00
    assert 'name="ch_sms_use" class="form-check-input" id="id_ch_sms_use" checked' in page
    assert 'dir="rtl" lang="fa"' in page
    page = _login(people["maker"]).get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="2026-12-01 09:00"' in page


def test_the_dry_run_follows_the_page_as_a_fragment_until_the_contact_list_is_written(
    people: dict[str, Any],
) -> None:
    campaign = _draft(people)
    client = _login(people["maker"])
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'hx-get="/campaigns/{campaign.pk}/dry-run/"' in page
    fragment = client.get(f"/campaigns/{campaign.pk}/dry-run/", headers=HTMX)
    assert fragment.status_code == 200
    rows = fragment.context["dry_run"]
    assert rows and all(isinstance(count, int) for _label, count in rows)
    assert 'id="dry-run"' in fragment.content.decode()
    campaign.materialised_at = timezone.now()
    campaign.save()
    assert "/dry-run/" not in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert client.get(f"/campaigns/{campaign.pk}/dry-run/").context["dry_run"] == []
