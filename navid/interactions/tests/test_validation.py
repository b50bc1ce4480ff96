"""The one set of field rules for interactions: choices, times, numbers, references, rules between fields."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from navid.core.errors import ValidationFailed
from navid.customers.tests.factories import ProductTypeFactory
from navid.interactions.tests.factories import NOW, ComplaintCategoryFactory
from navid.interactions.validation import InteractionReferences, clean_interaction_values, parse_occurred_at

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def _clean(**values: Any) -> dict[str, Any]:
    return clean_interaction_values(values, refs=InteractionReferences(), now=NOW)


def _errors(**values: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        _clean(**values)
    return caught.value.errors


@pytest.mark.django_db
def test_a_call_gets_its_channel_and_every_default() -> None:
    clean = _clean(kind="call", direction="outbound", occurred_at="2025-02-28 10:00")
    assert clean == {
        "kind": "call",
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": dt.datetime(2025, 2, 28, 6, 30, tzinfo=dt.UTC),  # Tehran time, stored in UTC
        "outcome": "",
        "duration_seconds": None,
        "cost": Decimal("0.00"),
        "employee": None,
        "campaign_id": None,
        "notes": "",
        "rating": None,
        "complaint_category": None,
        "returned_product": None,
        "request_open": False,
    }


@pytest.mark.django_db
def test_a_branch_visit_is_inbound_at_the_branch() -> None:
    clean = _clean(kind="branch_visit", occurred_at="2025-02-28T10:00:00Z")
    assert (clean["channel"], clean["direction"]) == ("branch", "inbound")
    assert clean["occurred_at"] == dt.datetime(2025, 2, 28, 10, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_every_bad_field_is_named_with_its_reason() -> None:
    errors = _errors(
        kind="fax",
        channel="pigeon",
        occurred_at="yesterday",
        rating="6",
        duration_seconds="-5",
        cost="-1",
        campaign_id="abc",
        employee="nobody",
        colour="red",
    )
    assert errors == {
        "kind": [
            "must be one of: call, sms, email, letter, branch_visit, web_visit, referral, inquiry, complaint, "
            "request, meeting, social"
        ],
        "channel": ["must be one of: phone, sms, email, post, branch, web, mobile_app, social, field"],
        "occurred_at": ["is not a date and time (use YYYY-MM-DD HH:MM, ISO 8601 or a Jalali date)"],
        "rating": ["must be between 1 and 5"],
        "duration_seconds": ["must be between 0 and 86400"],
        "cost": ["cannot be negative"],
        "campaign_id": ["must be a whole number"],
        "employee": ["no active user “nobody”"],
        "colour": ["unknown field"],
    }


@pytest.mark.django_db
def test_kind_and_time_are_required_and_direction_when_the_kind_does_not_say() -> None:
    assert _errors() == {"kind": ["is required"], "occurred_at": ["is required"]}
    assert _errors(kind="call", occurred_at="2025-02-28 10:00") == {
        "direction": ["is required for this kind of interaction"]
    }
    assert _errors(kind="complaint", occurred_at="2025-02-28 10:00") == {
        "channel": ["is required for this kind of interaction"]
    }


@pytest.mark.django_db
def test_the_future_is_refused_beyond_five_minutes() -> None:
    base = {"kind": "sms", "direction": "outbound"}
    assert _clean(**base, occurred_at="2025-03-01T12:05:00Z")["occurred_at"] == NOW + dt.timedelta(minutes=5)
    assert _errors(**base, occurred_at="2025-03-01T12:05:01Z") == {"occurred_at": ["is in the future"]}
    assert _errors(**base, occurred_at="1969-12-31T23:59:59Z") == {"occurred_at": ["is not a plausible date"]}
    assert _errors(**base, occurred_at="2025-02-30 10:00") == {"occurred_at": ["is not a real date and time"]}


def test_times_in_jalali_persian_digits_offsets_and_fractions() -> None:
    assert parse_occurred_at("۱۴۰۳/۱۲/۱۰ ۰۹:۱۵") == dt.datetime(2025, 2, 28, 5, 45, tzinfo=dt.UTC)
    assert parse_occurred_at("2025-02-28T09:15:30.25+03:00") == dt.datetime(
        2025, 2, 28, 6, 15, 30, 250000, tzinfo=dt.UTC
    )
    assert parse_occurred_at("2025-02-28 09:15+0330") == dt.datetime(2025, 2, 28, 5, 45, tzinfo=dt.UTC)
    assert parse_occurred_at("2025-02-28") == dt.datetime(2025, 2, 27, 20, 30, tzinfo=dt.UTC)
    assert parse_occurred_at(dt.datetime(2025, 2, 28, 9, 15, tzinfo=TEHRAN)) == dt.datetime(
        2025, 2, 28, 5, 45, tzinfo=dt.UTC
    )


@pytest.mark.django_db
def test_numbers_in_any_digits_and_cost_with_two_decimals() -> None:
    base = {"kind": "call", "direction": "inbound", "occurred_at": "2025-02-28 10:00"}
    clean = _clean(**base, rating="۴", duration_seconds="۱۲۰", cost="1250.5", campaign_id=17)
    assert (clean["rating"], clean["duration_seconds"], clean["cost"], clean["campaign_id"]) == (
        4,
        120,
        Decimal("1250.50"),
        17,
    )
    assert _errors(**base, cost="1,5") == {"cost": ["must be an amount such as 1250.50"]}
    assert _errors(**base, cost="0.001") == {"cost": ["has more than two decimal places"]}
    assert _errors(**base, cost="NaN") == {"cost": ["must be an amount such as 1250.50"]}
    assert _errors(**base, rating=True) == {"rating": ["must be a whole number"]}


@pytest.mark.django_db
def test_complaint_with_category_product_and_open_flag() -> None:
    category = ComplaintCategoryFactory()
    product = ProductTypeFactory(code="credit-card", name_en="Credit card")
    clean = _clean(
        kind="complaint",
        channel="phone",
        occurred_at="2025-02-28 10:00",
        complaint_category="کارمزدها",
        returned_product="credit-card",
        request_open="yes",
        notes="  Charged   twice\r\nفي الحساب  ",
    )
    assert (clean["complaint_category"], clean["returned_product"], clean["request_open"]) == (
        category,
        product,
        True,
    )
    assert clean["notes"] == "Charged twice\nفی الحساب"
    assert _errors(
        kind="complaint", channel="phone", occurred_at="2025-02-28 10:00", complaint_category="x"
    ) == {"complaint_category": ["unknown value “x”"]}


@pytest.mark.django_db
def test_category_only_for_complaints_and_open_only_for_requests_and_complaints() -> None:
    ComplaintCategoryFactory()
    assert _errors(
        kind="call",
        direction="inbound",
        occurred_at="2025-02-28 10:00",
        complaint_category="fees",
        request_open=True,
    ) == {
        "complaint_category": ["is only for complaints"],
        "request_open": ["only a request or a complaint can stay open"],
    }


@pytest.mark.django_db
def test_choices_accept_the_label_in_the_users_language(make_user: Any) -> None:
    employee = make_user(username="Agent7")
    with translation.override("en"):
        clean = _clean(
            kind="Branch visit", outcome="No answer", occurred_at="2025-02-28 10:00", employee="agent7"
        )
    assert (clean["kind"], clean["outcome"], clean["employee"]) == ("branch_visit", "no_answer", employee)


@pytest.mark.django_db
def test_text_longer_than_its_limit_is_refused() -> None:
    errors = _errors(kind="sms", direction="outbound", occurred_at="2025-02-28 10:00", notes="x" * 10_001)
    assert errors == {"notes": ["is longer than 10000 characters"]}
