from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from navid.customers.models import Transaction
from navid.customers.tests.factories import CustomerFactory
from navid.loyalty import tasks
from navid.loyalty.models import CustomerTier, EarnKind, PointsEntry
from navid.loyalty.tests.factories import EarnRuleFactory, PointsEntryFactory, TierFactory


@pytest.mark.django_db
def test_the_nightly_task_earns_expires_and_refreshes_tiers_and_a_second_run_changes_nothing() -> None:
    now = timezone.now()
    EarnRuleFactory(kind=EarnKind.TRANSACTION, points=10, validity_months=12)
    gold = TierFactory(code="gold", threshold=10)
    customer = CustomerFactory(status="customer")
    Transaction.objects.create(
        customer=customer,
        occurred_at=now - dt.timedelta(days=1),
        amount=Decimal("5"),
        channel="atm",
        kind="deposit",
    )
    PointsEntryFactory(
        customer=customer,
        points=7,
        occurred_at=now - dt.timedelta(days=400),
        expires_at=now - dt.timedelta(days=35),
    )
    assert tasks.expire_points_and_refresh_tiers() == {
        "transaction": 1,
        "product_opened": 0,
        "expired": 1,
        "tiers": 1,
    }
    assert tasks.expire_points_and_refresh_tiers() == {
        "transaction": 0,
        "product_opened": 0,
        "expired": 0,
        "tiers": 1,
    }
    assert tasks.earn_points() == {"transaction": 0, "product_opened": 0}
    assert sorted(PointsEntry.objects.values_list("kind", "points")) == [
        ("expiry", -7),
        ("manual", 7),
        ("transaction", 10),
    ]
    assert CustomerTier.objects.get(customer=customer).tier == gold
