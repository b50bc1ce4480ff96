"""Reads: the loyalty index with its parts, tier status, the statement and the expiring points."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from navid.customers.tests.factories import CustomerFactory
from navid.interactions.tests.factories import InteractionFactory
from navid.loyalty import selectors
from navid.loyalty.tests.factories import PointsEntryFactory, TierFactory
from navid.offers.tests.factories import OfferFactory
from navid.segments.models import CustomerValue, LoyaltySettings
from navid.segments.value_services import values_recompute

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


def test_the_index_parts_add_up_to_what_the_nightly_run_stores() -> None:
    # Defaults: tenure 0.5 (full at 10 years), requests 0.2 (full at 12), complaints 0.3 (full at 3).
    LoyaltySettings.load()
    customer = CustomerFactory(status="customer", customer_since=dt.date(2020, 6, 1))
    for day in range(6):
        InteractionFactory(customer=customer, kind="request", occurred_at=NOW - dt.timedelta(days=10 + day))
    InteractionFactory(customer=customer, kind="complaint", occurred_at=NOW - dt.timedelta(days=3))
    parts = selectors.loyalty_index_parts(customer=customer, now=NOW)
    years = (dt.date(2025, 6, 1) - dt.date(2020, 6, 1)).days / 365.25
    assert parts.years_as_customer == pytest.approx(years)
    assert (parts.requests, parts.complaints) == (6, 1)
    assert parts.tenure_points == pytest.approx(100 * 0.5 * years / 10 / 0.7)
    assert parts.requests_points == pytest.approx(100 * 0.2 * 0.5 / 0.7)
    assert parts.complaints_points == pytest.approx(-100 * 0.3 / 3 / 0.7)
    total = parts.tenure_points + (parts.requests_points or 0) + (parts.complaints_points or 0)
    assert parts.index == pytest.approx(round(total, 4))
    values_recompute(now=NOW)
    assert CustomerValue.objects.get(customer=customer).loyalty_index == pytest.approx(parts.index)


def test_tier_status_and_statement() -> None:
    silver = TierFactory(code="silver", threshold=100)
    gold = TierFactory(code="gold", threshold=500)
    offer = OfferFactory(name="Silver card")
    OfferFactory(name="Old offer", is_active=False)
    silver.offers.set([offer])
    customer = CustomerFactory()
    PointsEntryFactory(
        customer=customer,
        points=150,
        occurred_at=NOW - dt.timedelta(days=30),
        expires_at=NOW + dt.timedelta(days=10),
    )
    PointsEntryFactory(customer=customer, points=90, occurred_at=NOW - dt.timedelta(days=500))
    PointsEntryFactory(
        customer=customer, kind="redemption", points=-40, occurred_at=NOW - dt.timedelta(days=1)
    )
    status = selectors.tier_status(customer=customer, now=NOW)
    assert (status.earned_12_months, status.tier, status.next_tier, status.points_to_next) == (
        150,
        silver,
        gold,
        350,
    )
    statement = selectors.points_statement(customer=customer, now=NOW, page_size=2)
    assert statement.balance == 200
    assert statement.expiring == 110  # 150 expire in 10 days, of which the redemption used 40
    assert statement.tier_offers == [offer]
    assert [e.points for e in statement.entries] == [-40, 150]
    assert statement.entries.paginator.num_pages == 2


def test_no_tier_below_the_lowest_threshold(db: Any) -> None:
    TierFactory(code="silver", threshold=100)
    status = selectors.tier_status(customer=CustomerFactory(), now=NOW)
    assert (status.tier, status.next_tier.code if status.next_tier else None, status.points_to_next) == (
        None,
        "silver",
        100,
    )
