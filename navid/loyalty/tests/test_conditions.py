"""Points balance and tier in segments: the rule grammar takes them, SQL selects what Python selects."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from navid.core.errors import ValidationFailed
from navid.customers.models import Customer
from navid.customers.tests.factories import CustomerFactory
from navid.loyalty.models import Tier
from navid.loyalty.tests.factories import CustomerTierFactory, PointsEntryFactory, TierFactory
from navid.segments import extensions, rules
from navid.segments.compiler import Context, compile_definition
from navid.segments.describe import OPERATOR_LABELS, describe

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    silver, gold = TierFactory(code="silver", threshold=100), TierFactory(code="gold", threshold=1000)
    balances = [0, 50, 100, 999, 1000, 2500]
    people = []
    for i, balance in enumerate(balances):
        person = CustomerFactory(status="customer" if i % 2 else "prospect")
        if balance:
            PointsEntryFactory(customer=person, points=balance + 300)
            PointsEntryFactory(customer=person, kind="redemption", points=-300)
        people.append(person)
    CustomerTierFactory(customer=people[2], tier=silver)
    CustomerTierFactory(customer=people[4], tier=gold)
    CustomerTierFactory(customer=people[5], tier=gold)
    return {"people": people}


def _evaluate(node: Any, customer: Customer) -> bool:
    if isinstance(node, rules.Group):
        results = [_evaluate(child, customer) for child in node.children]
        result = all(results) if node.op == "and" else any(results)
    elif isinstance(node, rules.FieldCondition):
        assert node.field == "status" and node.operator == "eq"
        result = customer.status == node.value
    else:
        result = extensions.condition_kind_of(node).evaluate(node, customer, NOW)
    return not result if node.negate else result


def test_the_grammar_accepts_the_loyalty_conditions_and_names_bad_ones() -> None:
    definition = rules.definition_parse(
        {
            "version": 1,
            "root": {
                "children": [
                    {"type": "loyalty_points", "test": {"operator": "gte", "value": 1000}},
                    {"type": "loyalty_tier", "tiers": ["gold"], "negate": True},
                ]
            },
        }
    )
    assert [child.type for child in definition.root.children] == ["loyalty_points", "loyalty_tier"]
    with pytest.raises(ValidationFailed) as refused:
        rules.definition_parse(
            {
                "version": 1,
                "root": {
                    "children": [
                        {"type": "loyalty_points", "test": {"operator": "most", "value": 1}},
                        {"type": "loyalty_tier", "tiers": []},
                        {"type": "loyalty_tier", "tiers": ["gold"], "colour": "red"},
                    ]
                },
            }
        )
    assert refused.value.errors == {
        "root.children.0.test.operator": [
            "must be one of: 'eq', 'ne', 'lt', 'lte', 'gt', 'gte' or 'between'"
        ],
        "root.children.1.tiers": ["needs at least 1 items"],
        "root.children.2.colour": ["is not part of this kind of condition"],
    }


def test_an_unknown_tier_is_refused_with_its_path(world: dict[str, Any]) -> None:
    definition = rules.definition_parse(
        {"version": 1, "root": {"children": [{"type": "loyalty_tier", "tiers": ["gold", "diamond"]}]}}
    )
    with pytest.raises(ValidationFailed) as refused:
        compile_definition(definition)
    assert refused.value.errors == {"root.children.0.tiers": ["unknown tier: diamond"]}


def test_descriptions(world: dict[str, Any]) -> None:
    definition = rules.definition_parse(
        {
            "version": 1,
            "root": {
                "children": [
                    {"type": "loyalty_points", "test": {"operator": "between", "value": [100, 999]}},
                    {"type": "loyalty_tier", "tiers": ["silver", "gold"], "negate": True},
                ]
            },
        }
    )
    silver, gold = (str(t) for t in Tier.objects.order_by("threshold"))
    assert [describe(child) for child in definition.root.children] == [
        f"loyalty points balance {OPERATOR_LABELS['between']} 100 – 999",
        f"not: loyalty tier is one of: {silver}, {gold}",
    ]


def test_a_balance_test_selects_by_the_sum_of_the_ledger(world: dict[str, Any]) -> None:
    people = world["people"]
    definition = rules.definition_parse(
        {
            "version": 1,
            "root": {"children": [{"type": "loyalty_points", "test": {"operator": "gte", "value": 1000}}]},
        }
    )
    got = set(Customer.objects.filter(compile_definition(definition)).values_list("pk", flat=True))
    assert got == {people[4].pk, people[5].pk}
    zero = rules.definition_parse(
        {
            "version": 1,
            "root": {"children": [{"type": "loyalty_points", "test": {"operator": "eq", "value": 0}}]},
        }
    )
    assert set(Customer.objects.filter(compile_definition(zero)).values_list("pk", flat=True)) == {
        people[0].pk
    }


numbers = st.sampled_from([0, 1, 50, 100, 999, 1000, 2500, 5000])
points_nodes = st.builds(
    lambda op, value, low, high, negate: {
        "type": "loyalty_points",
        "negate": negate,
        "test": {"operator": op, "value": sorted([low, high]) if op == "between" else value},
    },
    st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "between"]),
    numbers,
    numbers,
    numbers,
    st.booleans(),
)
tier_nodes = st.builds(
    lambda tiers, negate: {"type": "loyalty_tier", "tiers": tiers, "negate": negate},
    st.lists(st.sampled_from(["silver", "gold"]), min_size=1, max_size=2, unique=True),
    st.booleans(),
)
status_nodes = st.builds(
    lambda status, negate: {
        "type": "field",
        "field": "status",
        "operator": "eq",
        "value": status,
        "negate": negate,
    },
    st.sampled_from(["customer", "prospect"]),
    st.booleans(),
)
trees = st.recursive(
    st.one_of(points_nodes, tier_nodes, status_nodes),
    lambda children: st.builds(
        lambda op, kids, negate: {"type": "group", "op": op, "children": kids, "negate": negate},
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=1, max_size=3),
        st.booleans(),
    ),
    max_leaves=6,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_random_trees_select_what_python_selects(world: dict[str, Any], tree: dict[str, Any]) -> None:
    definition = rules.definition_parse({"version": 1, "root": {"op": "and", "children": [tree]}})
    live = list(Customer.objects.filter(deleted_at__isnull=True))
    expected = {c.pk for c in live if _evaluate(definition.root, c)}
    with CaptureQueriesContext(connection) as queries:
        got = set(
            Customer.objects.filter(deleted_at__isnull=True)
            .filter(compile_definition(definition, context=Context(now=NOW)))
            .values_list("pk", flat=True)
        )
    assert got == expected
    # One query for the members, besides the lookup of tier codes; every value a bound parameter.
    members = [q for q in queries.captured_queries if 'FROM "customers_customer"' in q["sql"]]
    assert len(members) == 1
