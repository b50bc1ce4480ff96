from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from navid.customers.models import Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.loyalty.demo import loyalty_demo_seed
from navid.loyalty.models import CustomerTier, EarnRule, PointsEntry, Tier
from navid.offers.tests.factories import HoldingFactory, OfferFactory

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_demo_seed_makes_rules_tiers_and_points_once() -> None:
    card = ProductTypeFactory(code="credit-card")
    offer = OfferFactory(product_type=card)
    customer = CustomerFactory(status="customer")
    HoldingFactory(customer=customer, product_type=card, opened_on=dt.date(2025, 5, 1))
    Transaction.objects.create(
        customer=customer,
        occurred_at=NOW - dt.timedelta(days=5),
        amount=Decimal("700000000"),
        channel="pos",
        kind="payment",
    )
    report = loyalty_demo_seed(now=NOW)
    assert (report.rules, report.tiers, report.entries, report.customers_in_tiers) == (6, 3, 2, 1)
    assert sorted(PointsEntry.objects.values_list("kind", "points")) == [
        ("product_opened", 300),
        ("transaction", 1400),
    ]
    assert CustomerTier.objects.get(customer=customer).tier.code == "gold"
    assert list(Tier.objects.get(code="gold").offers.all()) == [offer]
    again = loyalty_demo_seed(now=NOW)
    assert (again.rules, again.tiers, again.entries) == (0, 0, 0)
    assert EarnRule.objects.count() == 6
