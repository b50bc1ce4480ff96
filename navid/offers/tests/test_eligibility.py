from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from navid.accounts.tests.factories import RegionFactory
from navid.core.errors import ValidationFailed
from navid.customers.models import Customer, Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.eligibility import (
    EligibilityRules,
    customer_facts,
    eligibility_q,
    rules_describe,
    rules_failures,
    rules_parse,
    years_before,
)
from navid.offers.tests.factories import HoldingFactory

AS_OF = dt.date(2026, 6, 15)


def _deposit(customer: Customer, amount: str, day: dt.date) -> None:
    Transaction.objects.create(
        customer=customer,
        occurred_at=timezone.make_aware(dt.datetime.combine(day, dt.time(12))),
        amount=Decimal(amount),
        channel="branch",
        kind="deposit",
    )


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """Customers that sit on each side of every rule's edge."""
    north, south = RegionFactory(code="north"), RegionFactory(code="south")
    current = ProductTypeFactory(code="current", name_en="Current account")
    loan = ProductTypeFactory(code="loan", name_en="Loan", is_credit=True)
    card = ProductTypeFactory(code="card", name_en="Credit card", is_credit=True)
    people: dict[str, Customer] = {}
    births = [
        dt.date(2008, 6, 15),  # 18 on the day
        dt.date(2008, 6, 16),  # 17, one day short
        dt.date(1961, 6, 16),  # 64
        dt.date(1961, 6, 15),  # 65 on the day
        dt.date(1990, 1, 1),
        None,
    ]
    for n, birth in enumerate(births):
        people[f"p{n}"] = CustomerFactory(
            birth_date=birth,
            region=(north, south, None)[n % 3],
            kind="organisation" if n == 4 else "person",
        )
    p = people
    HoldingFactory(customer=p["p0"], product_type=current)
    HoldingFactory(customer=p["p1"], product_type=current, balance=Decimal("-5"))  # overdrawn
    HoldingFactory(
        customer=p["p2"], product_type=loan, balance=Decimal("-900")
    )  # a loan's sign does not matter
    HoldingFactory(customer=p["p2"], product_type=card)
    HoldingFactory(customer=p["p3"], product_type=loan)
    HoldingFactory(customer=p["p3"], product_type=current, closed_on=AS_OF)  # closed on the day: not held
    HoldingFactory(customer=p["p4"], product_type=current, opened_on=AS_OF + dt.timedelta(days=1))  # not yet
    HoldingFactory(customer=p["p5"], product_type=card, opened_on=AS_OF)
    _deposit(p["p0"], "600", AS_OF)  # 100 a month
    _deposit(p["p1"], "599", AS_OF - dt.timedelta(days=10))
    _deposit(p["p2"], "6000", AS_OF - dt.timedelta(days=179))
    _deposit(p["p3"], "6000", AS_OF - dt.timedelta(days=181))  # outside the window
    _deposit(p["p4"], "6000", AS_OF + dt.timedelta(days=1))  # after the day
    return people


def _sql(rules: EligibilityRules) -> set[int]:
    return set(Customer.objects.filter(eligibility_q(rules, as_of=AS_OF)).values_list("pk", flat=True))


def _python(rules: EligibilityRules) -> set[int]:
    return {
        c.pk
        for c in Customer.objects.all()
        if not rules_failures(rules, facts=customer_facts(customer=c, as_of=AS_OF), as_of=AS_OF)
    }


def _names(world: dict[str, Any], ids: set[int]) -> list[str]:
    return sorted(name for name, c in world.items() if c.pk in ids)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({}, ["p0", "p1", "p2", "p3", "p4", "p5"]),
        ({"age_min": 18}, ["p0", "p2", "p3", "p4"]),
        ({"age_max": 64}, ["p0", "p1", "p2", "p4"]),
        ({"regions": ["north"]}, ["p0", "p3"]),
        ({"party_kinds": ["organisation"]}, ["p4"]),
        ({"requires_any": ["current"]}, ["p0", "p1"]),
        ({"excludes": ["loan", "card"]}, ["p0", "p1", "p4"]),
        ({"max_credit_products": 2}, ["p0", "p1", "p3", "p4", "p5"]),
        ({"max_credit_products": 1}, ["p0", "p1", "p4"]),
        ({"no_overdrawn": True}, ["p0", "p2", "p3", "p4", "p5"]),
        ({"min_income": "100"}, ["p0", "p2"]),
        ({"min_income": "0"}, ["p0", "p1", "p2", "p3", "p4", "p5"]),
    ],
)
def test_each_rule_at_its_edge(world: dict[str, Any], rules: dict[str, Any], expected: list[str]) -> None:
    parsed = rules_parse(rules)
    assert _names(world, _sql(parsed)) == expected
    assert _names(world, _python(parsed)) == expected


def _ages_in_order(document: dict[str, Any]) -> bool:
    return int(document.get("age_min", 0)) <= int(document.get("age_max", 150))


rule_documents: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "age_min": st.integers(0, 80),
        "age_max": st.integers(0, 80),
        "min_income": st.sampled_from(["0", "99.99", "100", "1000", "1000.01"]),
        "regions": st.lists(st.sampled_from(["north", "south"]), max_size=2, unique=True),
        "party_kinds": st.lists(st.sampled_from(["person", "organisation"]), max_size=2, unique=True),
        "requires_any": st.lists(st.sampled_from(["current", "loan", "card"]), max_size=3, unique=True),
        "excludes": st.lists(st.sampled_from(["current", "loan", "card"]), max_size=3, unique=True),
        "max_credit_products": st.integers(1, 3),
        "no_overdrawn": st.booleans(),
    },
).filter(_ages_in_order)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=rule_documents)
def test_sql_and_python_agree_on_random_rules(world: dict[str, Any], document: dict[str, Any]) -> None:
    rules = rules_parse(document)
    assert _sql(rules) == _python(rules)


def test_bad_documents_name_the_key(db: None) -> None:
    ProductTypeFactory(code="current")
    with pytest.raises(ValidationFailed) as exc:
        rules_parse({"age_min": -1, "colour": "red"})
    assert set(exc.value.errors) == {"age_min", "colour"}
    with pytest.raises(ValidationFailed) as exc:
        rules_parse({"age_min": 40, "age_max": 30})
    assert exc.value.errors == {"rules": ["Value error, age_min is greater than age_max"]}
    with pytest.raises(ValidationFailed) as exc:
        rules_parse({"regions": ["atlantis"], "excludes": ["current", "yacht"]})
    assert exc.value.errors == {
        "regions": ["Unknown region code: atlantis"],
        "excludes": ["Unknown product code: yacht"],
    }


def test_rules_in_words(db: None) -> None:
    rules = EligibilityRules.model_validate({"age_min": 18, "max_credit_products": 2, "no_overdrawn": True})
    assert rules_describe(rules) == [
        "aged at least 18",
        "fewer than 2 credit products held",
        "no overdrawn account",
    ]


def test_years_before_a_leap_day() -> None:
    assert years_before(dt.date(2024, 2, 29), 1) == dt.date(2023, 2, 28)
    assert years_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)
