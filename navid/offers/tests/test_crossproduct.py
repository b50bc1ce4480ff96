from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.crossproduct import cross_product_compute
from navid.offers.models import CrossProductStat
from navid.offers.selectors import cross_product_heat_map, heat_colour
from navid.offers.tests.factories import HoldingFactory


@pytest.mark.django_db
def test_support_confidence_and_lift_exact() -> None:
    current = ProductTypeFactory(code="current")
    card = ProductTypeFactory(code="card")
    loan = ProductTypeFactory(code="loan")
    # Ten customers with products: 6 current (4 of them also a card), 5 cards in all, 2 loans without a card.
    for n in range(10):
        customer = CustomerFactory()
        if n < 6:
            HoldingFactory(customer=customer, product_type=current)
        if n < 4 or n == 9:
            HoldingFactory(customer=customer, product_type=card)
        if n in (6, 7):
            HoldingFactory(customer=customer, product_type=loan)
        if n == 8:
            HoldingFactory(customer=customer, product_type=loan, closed_on=dt.date(2021, 1, 1))  # not held
    deleted = CustomerFactory(deleted_at=timezone.now())
    HoldingFactory(customer=deleted, product_type=current)
    HoldingFactory(customer=deleted, product_type=card)
    # The same product twice counts once.
    HoldingFactory(customer=CustomerFactory(), product_type=current)

    assert cross_product_compute(as_of=dt.date(2026, 1, 1)) == 2
    stats = {(s.antecedent.code, s.consequent.code): s for s in CrossProductStat.objects.select_related()}
    assert set(stats) == {("current", "card"), ("card", "current")}
    a_b = stats[("current", "card")]
    # N = 10 customers hold something (the closed loan's customer holds nothing; one more holds current).
    assert (a_b.customers, a_b.antecedent_count, a_b.consequent_count, a_b.pair_count) == (10, 7, 5, 4)
    assert a_b.support == pytest.approx(0.4)
    assert a_b.confidence == pytest.approx(4 / 7)
    assert a_b.lift == pytest.approx((4 / 7) / (5 / 10))
    b_a = stats[("card", "current")]
    assert b_a.confidence == pytest.approx(4 / 5)
    assert b_a.lift == pytest.approx((4 / 5) / (7 / 10))

    # A second run replaces the rows.
    assert cross_product_compute(as_of=dt.date(2026, 1, 1)) == 2
    assert CrossProductStat.objects.count() == 2

    heat = cross_product_heat_map()
    assert [p.code for p in heat.products] == ["card", "current"]
    assert heat.customers == 10
    first_row = heat.rows[0][1]
    assert first_row[0].colour == ""  # the diagonal
    assert (first_row[1].stat.antecedent.code, first_row[1].stat.consequent.code) == ("card", "current")
    assert first_row[1].stat.lift == pytest.approx(b_a.lift)


def test_heat_colours() -> None:
    assert heat_colour(1.0) == "hsl(0, 75%, 100%)"
    assert heat_colour(3.0) == "hsl(0, 75%, 55%)"
    assert heat_colour(10.0) == "hsl(0, 75%, 55%)"
    assert heat_colour(0.0) == "hsl(215, 75%, 55%)"
    assert heat_colour(0.5) == "hsl(215, 75%, 78%)"
