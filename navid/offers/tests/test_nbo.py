from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from navid.customers.models import Customer
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.crossproduct import cross_product_compute
from navid.offers.nbo import (
    _is_member,
    active_offers,
    next_best_offers_for_customer,
    next_best_offers_for_segment,
)
from navid.offers.tests.factories import (
    HoldingFactory,
    OfferFactory,
    ProductRuleFactory,
    StaticMemberFactory,
    StaticSegmentFactory,
    TargetFactory,
)
from navid.segments.selectors import segment_members


@pytest.fixture
def bank(db: None) -> dict[str, Any]:
    """Seven customers with products, offers with values and rules, a static segment that targets cards."""
    p = {
        code: ProductTypeFactory(code=code, name_en=name, is_credit=credit)
        for code, name, credit in (
            ("current", "Current account", False),
            ("card", "Credit card", True),
            ("loan", "Loan", True),
            ("mortgage", "Mortgage", True),
            ("savings", "Savings", False),
        )
    }
    c = {
        name: CustomerFactory(birth_date=dt.date(2000, 1, 1))
        for name in ("x", "a1", "a2", "a3", "b1", "d1", "d2")
    }
    for name in ("x", "a1", "a2", "a3", "b1"):
        HoldingFactory(customer=c[name], product_type=p["current"])
    for name in ("a1", "a2", "a3"):
        HoldingFactory(customer=c[name], product_type=p["card"])
    for name in ("b1", "d1"):
        HoldingFactory(customer=c[name], product_type=p["loan"])
    HoldingFactory(customer=c["d2"], product_type=p["mortgage"])
    OfferFactory(product_type=p["card"], name="Card offer", value_to_bank=Decimal("1000"))
    OfferFactory(product_type=p["loan"], name="Loan offer", value_to_bank=Decimal("5000"))
    OfferFactory(product_type=p["mortgage"], name="Mortgage offer", value_to_bank=Decimal("90000"))
    OfferFactory(product_type=p["current"], name="Current offer", value_to_bank=Decimal("99999"))
    ProductRuleFactory(product_type=p["mortgage"], rules={"age_min": 40})
    ProductRuleFactory(product_type=p["loan"], rules={"no_overdrawn": True})
    segment = StaticSegmentFactory(name="Young savers")
    for name in ("x", "a1", "d2"):
        StaticMemberFactory(segment=segment, customer=c[name])
    TargetFactory(segment=segment, product_type=p["card"])
    cross_product_compute()
    return {"products": p, "customers": c, "segment": segment}


def test_one_customer_ranked_by_expected_value_with_reasons(bank: dict[str, Any]) -> None:
    result = next_best_offers_for_customer(customer=bank["customers"]["x"])
    # Not the current account (held), not the mortgage (too young), not savings (no offer).
    assert [(r.product.code, r.expected_value) for r in result] == [
        ("loan", Decimal("1000.00")),
        ("card", Decimal("600.00")),
    ]
    assert result[0].propensity == pytest.approx(0.2)
    assert result[0].reasons == [
        "no model yet: propensity 0.20 is the share of holders of Current account who also hold it"
    ]
    assert result[1].reasons == [
        "holds Current account: customers who do are 1.4 times as likely to hold Credit card",
        "no model yet: propensity 0.60 is the share of holders of Current account who also hold it",
        "the product-segment matrix targets the segment Young savers (High priority)",
    ]
    assert next_best_offers_for_customer(customer=bank["customers"]["x"], limit=1)[0].product.code == "loan"


def test_never_a_held_or_ineligible_product(bank: dict[str, Any]) -> None:
    old = CustomerFactory(birth_date=dt.date(1970, 1, 1))
    holding = HoldingFactory(customer=old, product_type=bank["products"]["current"], balance=Decimal("-1"))
    # Current held; loan refused while an account is overdrawn; old enough for a mortgage (no data: propensity 0).
    result = next_best_offers_for_customer(customer=old)
    assert [(r.product.code, r.expected_value) for r in result] == [
        ("card", Decimal("600.00")),
        ("mortgage", Decimal("0.00")),
    ]
    holding.balance = Decimal("0")
    holding.save()
    assert [r.product.code for r in next_best_offers_for_customer(customer=old)] == [
        "loan",
        "card",
        "mortgage",
    ]


def test_offers_outside_their_dates_or_inactive_are_not_used(bank: dict[str, Any]) -> None:
    day = dt.date(2026, 3, 1)
    loan = bank["products"]["loan"]
    OfferFactory(
        product_type=loan, name="Spring", value_to_bank=Decimal("7000"), valid_from=dt.date(2026, 3, 2)
    )
    OfferFactory(product_type=loan, name="Off", value_to_bank=Decimal("8000"), is_active=False)
    OfferFactory(
        product_type=loan, name="Winter", value_to_bank=Decimal("6000"), valid_until=dt.date(2026, 3, 1)
    )
    assert active_offers(as_of=day)[loan.pk].name == "Winter"
    assert active_offers(as_of=dt.date(2026, 3, 2))[loan.pk].name == "Spring"


def test_a_segment_each_members_best_the_best_first(bank: dict[str, Any]) -> None:
    c = bank["customers"]
    result = next_best_offers_for_segment(segment=bank["segment"], user=None, limit=10)
    assert [(r.customer_id, r.product.code, r.expected_value) for r in result] == [
        (c["d2"].pk, "current", Decimal("71427.89")),  # 5/7 x 99,999: d2 holds only a mortgage
        (c["x"].pk, "loan", Decimal("1000.00")),
        (c["a1"].pk, "loan", Decimal("1000.00")),
    ]
    assert result[0].reasons == ["no model yet: propensity 0.71 is the share of customers holding it"]
    limited = next_best_offers_for_segment(segment=bank["segment"], user=None, limit=2)
    assert [r.customer_id for r in limited] == [c["d2"].pk, c["x"].pk]


def _temporary_tables() -> list[str]:
    sql = {
        "sqlite": "SELECT name FROM sqlite_temp_master WHERE type = 'table'",
        "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname LIKE 'pg_temp%%'",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def test_a_segment_leaves_no_temporary_table(bank: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    first = next_best_offers_for_segment(segment=bank["segment"], user=None, limit=10)
    assert _temporary_tables() == []
    again = next_best_offers_for_segment(segment=bank["segment"], user=None, limit=10)
    assert [(r.customer_id, r.product.code, r.expected_value) for r in again] == [
        (r.customer_id, r.product.code, r.expected_value) for r in first
    ]

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("facts could not be read")

    monkeypatch.setattr("navid.offers.nbo.facts_frame", broken)
    with pytest.raises(RuntimeError, match="facts could not be read"):
        next_best_offers_for_segment(segment=bank["segment"], user=None, limit=10)
    assert _temporary_tables() == []


def test_a_segment_without_members_has_no_offers(bank: dict[str, Any]) -> None:
    empty = StaticSegmentFactory(name="Nobody")
    assert next_best_offers_for_segment(segment=empty, user=None, limit=10) == []
    assert next_best_offers_for_segment(segment=bank["segment"], user=None, limit=0) == []


def test_membership_of_a_targeted_segment_is_that_of_the_segment(bank: dict[str, Any]) -> None:
    c, segment = bank["customers"], bank["segment"]
    assert [_is_member(segment, c[name]) for name in ("x", "a1", "d2", "b1")] == [True, True, True, False]
    Customer.objects.filter(pk=c["x"].pk).update(deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert _is_member(segment, c["x"]) is False
    assert not segment_members(segment=segment, user=None).filter(pk=c["x"].pk).exists()
