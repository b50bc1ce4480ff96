from __future__ import annotations

import pytest

from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.demo import offers_demo_seed
from navid.offers.models import CrossProductStat, Offer, ProductRule
from navid.offers.tests.factories import HoldingFactory


@pytest.mark.django_db
def test_demo_seed_makes_offers_rules_and_the_matrix_once() -> None:
    current = ProductTypeFactory(code="current-account")
    card = ProductTypeFactory(code="credit-card", is_credit=True)
    ProductTypeFactory(code="yacht")
    for _ in range(2):
        customer = CustomerFactory()
        HoldingFactory(customer=customer, product_type=current)
        HoldingFactory(customer=customer, product_type=card)
    report = offers_demo_seed(train=False)
    assert (report.offers, report.pairs, report.models) == (2, 2, 0)
    assert ProductRule.objects.get(product_type=card).rules == {
        "age_min": 21,
        "max_credit_products": 2,
        "no_overdrawn": True,
        "requires_any": ["current-account"],
    }
    assert offers_demo_seed(train=False).offers == 0
    assert Offer.objects.count() == 2
    assert CrossProductStat.objects.count() == 2
