"""The set-based segment ranking, eligibility, features and matrix give exactly what the first code gave.

A bank of 300 customers drawn at random (fixed seed) with every kind of rule, transactions, interactions, a
trained model for one product and the cross-product fallback for the others, ranked by both implementations.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from navid.accounts.tests.factories import RegionFactory
from navid.customers.models import Customer, ProductHolding, Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.interactions.models import Interaction
from navid.interactions.tests.factories import InteractionFactory
from navid.offers.crossproduct import basket_counts, cross_product_compute, pair_counts
from navid.offers.eligibility import (
    EligibilityRules,
    eligibility_q,
    facts_frame,
    rules_mask,
)
from navid.offers.features import feature_names_default, feature_table, feature_table_within
from navid.offers.models import PropensityModel
from navid.offers.nbo import _expected, _expected_cents, next_best_offers_for_segment
from navid.offers.propensity import propensity_train_all
from navid.offers.tests.factories import (
    OfferFactory,
    ProductRuleFactory,
    StaticMemberFactory,
    StaticSegmentFactory,
)
from navid.offers.tests.reference import reference_pair_counts, reference_segment_rows
from navid.segments.models import Segment

TODAY = dt.date(2026, 1, 1)
T2 = TODAY - dt.timedelta(days=180)
T1 = T2 - dt.timedelta(days=180)

RULES: dict[str, dict[str, Any]] = {
    "current": {},
    "savings": {"age_min": 18, "regions": ["north"]},
    "card": {"age_min": 21, "max_credit_products": 2, "no_overdrawn": True, "requires_any": ["current"]},
    "loan": {"age_min": 21, "age_max": 65, "party_kinds": ["person"], "min_income": "150"},
    "mortgage": {"age_min": 25, "age_max": 60, "max_credit_products": 1, "excludes": ["loan"]},
    "insurance": {"party_kinds": ["organisation"]},
    "box": {"age_max": 40},
}
VALUES = {
    "current": "2000",
    "savings": "5000",
    "card": "8000",
    "loan": "5000",  # as much as savings: ties between products decided by the lower id
    "mortgage": "150000",
    "insurance": "3000",
    "box": "3000",
}


@pytest.fixture
def bank(db: None, settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.VAR_DIR = tmp_path
    rng = np.random.default_rng(7)
    products = {
        code: ProductTypeFactory(
            code=code, name_en=code.title(), is_credit=code in ("card", "loan", "mortgage")
        )
        for code in RULES
    }
    regions = [RegionFactory(code=code) for code in ("north", "south")]
    customers = []
    for n in range(300):
        born = None if n % 17 == 0 else dt.date(1950, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20_000)))
        customers.append(
            CustomerFactory(
                birth_date=born,
                kind="organisation" if n % 9 == 0 else "person",
                region=None if n % 13 == 0 else regions[n % 2],
                customer_since=dt.date(2020, 1, 1) if n % 5 else None,
            )
        )
    holdings = []
    for n, customer in enumerate(customers):
        chosen = {c for c in products if rng.random() < {"current": 0.7, "savings": 0.3}.get(c, 0.15)}
        for code in chosen:
            opened = dt.date(2019, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2_550)))
            closed = opened + dt.timedelta(days=200) if rng.random() < 0.1 else None
            balance = Decimal(int(rng.integers(-50, 5_000)))
            holdings.append(
                ProductHolding(
                    customer=customer,
                    product_type=products[code],
                    opened_on=opened,
                    closed_on=closed,
                    balance=balance,
                )
            )
        # Savers open a card in a window half the time: the card's model has a signal to learn.
        if "savings" in chosen and "card" not in chosen and rng.random() < 0.5:
            holdings.append(
                ProductHolding(
                    customer=customer,
                    product_type=products["card"],
                    opened_on=(T1 if n % 2 else T2) + dt.timedelta(days=20),
                )
            )
        elif "card" not in chosen and rng.random() < 0.06:
            holdings.append(
                ProductHolding(
                    customer=customer, product_type=products["card"], opened_on=T2 + dt.timedelta(days=9)
                )
            )
    ProductHolding.objects.bulk_create(holdings)
    end = timezone.make_aware(dt.datetime.combine(TODAY, dt.time()))
    transactions = [
        Transaction(
            customer=customers[int(rng.integers(0, 300))],
            occurred_at=end - dt.timedelta(hours=int(rng.integers(1, 24 * 400))),
            amount=Decimal(int(rng.integers(1, 4_000))) / 2,
            channel="branch",
            kind=str(rng.choice(["deposit", "deposit", "withdrawal", "payment", "fee"])),
        )
        for _ in range(1_500)
    ]
    Transaction.objects.bulk_create(transactions)
    for i in range(200):
        InteractionFactory(
            customer=customers[int(rng.integers(0, 300))],
            kind="complaint" if i % 7 == 0 else "call",
            occurred_at=end - dt.timedelta(hours=int(rng.integers(1, 24 * 400))),
        )
    for code, rules in RULES.items():
        OfferFactory(product_type=products[code], value_to_bank=Decimal(VALUES[code]))
        ProductRuleFactory(product_type=products[code], rules=rules)
    segment = StaticSegmentFactory(name="Everyone")
    for customer in customers:
        StaticMemberFactory(segment=segment, customer=customer)
    # A deleted member is left out by both.
    Customer.objects.filter(pk=customers[3].pk).update(deleted_at=timezone.now())
    cross_product_compute(as_of=TODAY)
    propensity_train_all(today=TODAY)
    return {"products": products, "customers": customers, "segment": segment}


def test_a_segment_ranks_exactly_as_the_batch_code(bank: dict[str, Any]) -> None:
    ready = PropensityModel.objects.filter(is_current=True, state=PropensityModel.State.READY)
    # The card has a model (savers open one); products without one fall back on the matrix.
    assert "card" in {m.product_type.code for m in ready}
    assert ready.count() < len(RULES)
    for limit in (1000, 40, 1):
        expected = reference_segment_rows(segment=bank["segment"], limit=limit, as_of=TODAY, batch=37)
        got = next_best_offers_for_segment(segment=bank["segment"], user=None, limit=limit, as_of=TODAY)
        assert [(r.expected_value, r.customer_id, r.product.pk, r.propensity) for r in got] == [
            (ev, cid, pid, p) for ev, cid, pid, p, _model, _held in expected
        ]
        assert [str(r.expected_value) for r in got] == [str(row[0]) for row in expected]
    assert len(expected) == 1
    whole = reference_segment_rows(segment=bank["segment"], limit=1000, as_of=TODAY)
    assert 200 < len(whole) < 299
    assert len({row[2] for row in whole}) >= 5  # most products win for someone
    assert {row[4] for row in whole} == {True, False}  # from a model and from the matrix


def test_a_dynamic_segment_ranks_exactly_as_the_batch_code(bank: dict[str, Any]) -> None:
    rule = {"type": "field", "field": "region", "operator": "in", "value": ["north"]}
    segment = Segment.objects.create(
        name="North",
        kind=Segment.Kind.DYNAMIC,
        definition={"version": 1, "root": {"type": "group", "op": "and", "children": [rule]}},
    )
    expected = reference_segment_rows(segment=segment, limit=50, as_of=TODAY)
    got = next_best_offers_for_segment(segment=segment, user=None, limit=50, as_of=TODAY)
    assert [(r.expected_value, r.customer_id, r.product.pk, r.propensity) for r in got] == [
        row[:4] for row in expected
    ]
    north = set(Customer.objects.filter(region__code="north").values_list("pk", flat=True))
    assert len(got) == 50 and {r.customer_id for r in got} <= north


def test_eligibility_in_numpy_is_the_query(bank: dict[str, Any]) -> None:
    ids = np.array(sorted(Customer.objects.values_list("pk", flat=True)), dtype=np.int64)
    frame = facts_frame(ids=ids, within=[int(i) for i in ids], as_of=TODAY)
    for code, document in RULES.items():
        rules = EligibilityRules.model_validate(document)
        expected = set(
            Customer.objects.filter(eligibility_q(rules, as_of=TODAY)).values_list("pk", flat=True)
        )
        got = set(ids[rules_mask(rules, frame=frame, as_of=TODAY)].tolist())
        assert got == expected, code
        assert 0 < len(got) < 300 or code in ("current",)


def test_features_of_a_subquery_are_those_of_the_ids(bank: dict[str, Any]) -> None:
    names = [*feature_names_default(), "unknown"]
    ids = sorted(Customer.objects.values_list("pk", flat=True))
    by_ids = feature_table(customer_ids=ids[::-1], as_of=TODAY, names=names)
    within = feature_table_within(
        ids=np.array(ids, dtype=np.int64), within=Customer.objects.values("pk"), as_of=TODAY, names=names
    )
    assert by_ids.ids.tolist() == ids
    np.testing.assert_array_equal(by_ids.values, within.values)
    assert np.isnan(by_ids.column("tenure_days")).sum() > 0
    assert by_ids.column("tx_in_365").max() > 0
    assert (
        by_ids.column("complaints_365").sum()
        == Interaction.objects.filter(
            kind="complaint", occurred_at__gte=timezone.make_aware(dt.datetime(2025, 1, 2))
        ).count()
    )


def test_pairs_counted_from_baskets_are_those_of_the_self_join(bank: dict[str, Any]) -> None:
    assert set(pair_counts(basket_counts(as_of=TODAY))) == reference_pair_counts(as_of=TODAY)
    assert len(reference_pair_counts(as_of=TODAY)) == 42


def test_baskets_merge_the_same_set_in_any_order() -> None:
    assert pair_counts({(1, 2): 3, (2,): 1, (1, 2, 5): 2}) == [
        (1, 2, 6, 5, 6, 5),
        (1, 5, 6, 5, 2, 2),
        (2, 1, 6, 6, 5, 5),
        (2, 5, 6, 6, 2, 2),
        (5, 1, 6, 2, 5, 2),
        (5, 2, 6, 2, 6, 2),
    ]


@pytest.mark.parametrize(
    "propensity",
    [0.0, 1.0, 0.2, 5 / 7, 0.1234565, 0.1234575, 0.0000005, 0.9999995, 0.123456789, 1 / 3],
)
@pytest.mark.parametrize("value", ["99999", "0.05", "1.15", "150000000", "0.00"])
def test_expected_value_in_cents_is_the_decimal_one(propensity: float, value: str) -> None:
    got = _expected_cents(np.array([[propensity]]), [Decimal(value)])[0, 0]
    assert Decimal(int(got)).scaleb(-2) == _expected(
        OfferFactory.build(value_to_bank=Decimal(value)), propensity
    )


def test_expected_value_beyond_int64_stays_exact() -> None:
    huge = Decimal("9999999999999999.99")
    got = _expected_cents(np.array([[0.123457, 0.5]]), [huge, Decimal("1")])
    assert got.dtype == object
    assert [Decimal(int(v)).scaleb(-2) for v in got[0]] == [
        _expected(OfferFactory.build(value_to_bank=huge), 0.123457),
        Decimal("0.50"),
    ]
