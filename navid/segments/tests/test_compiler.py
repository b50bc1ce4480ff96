"""The compiler against an independent evaluation in Python, on random trees and hostile values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from navid.accounts.tests.factories import RegionFactory
from navid.customers.models import Consent, Customer, ProductHolding, Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.interactions.models import Interaction
from navid.segments import rules
from navid.segments.compiler import Context, compile_definition, window_bounds, years_before
from navid.segments.models import CustomerValue

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
HOSTILE = [
    "'; DROP TABLE customers_customer; --",
    "%",
    "_",
    "\\",
    "a' OR '1'='1",
    "تهران",
    "Мос",
    "",
    "ه",
    "x\x00y",
]
CITIES = ["تهران", "Москва", "Isfahan", "", "50% off_city", "O'Brien\\town"]


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """Twelve customers with products, transactions, interactions, consents and values around NOW."""
    tehran = RegionFactory(code="tehran", name_en="Tehran")
    moscow = RegionFactory(code="moscow", name_en="Moscow")
    deposit = ProductTypeFactory(code="deposit", is_credit=False)
    loan = ProductTypeFactory(code="loan", name_en="Loan", is_credit=True)
    card = ProductTypeFactory(code="card", name_en="Card", is_credit=True)
    customers = []
    for i in range(12):
        customers.append(
            CustomerFactory(
                kind="organisation" if i % 5 == 4 else "person",
                status="customer" if i % 3 else "prospect",
                language=["fa", "ru", "en"][i % 3],
                preferred_channel=["", "sms", "email", "phone"][i % 4],
                region=[tehran, moscow, None][i % 3],
                do_not_contact=i % 4 == 1,
                birth_date=None if i % 6 == 5 else dt.date(1960 + 3 * i, 1 + i % 12, 1 + (2 * i) % 28),
                customer_since=dt.date(2015 + i % 10, 3, 1) if i % 3 else None,
                city=CITIES[i % len(CITIES)],
            )
        )
    products = [deposit, loan, card]
    for i, customer in enumerate(customers):
        for j in range(i % 3):
            ProductHolding.objects.create(
                customer=customer,
                product_type=products[(i + j) % 3],
                opened_on=dt.date(2020, 1, 1),
                closed_on=dt.date(2025, 1, 1) if (i + j) % 4 == 3 else None,
                balance=Decimal(1000 * ((i * 7 + j) % 9)),
            )
        for k in range(i % 5):
            Transaction.objects.create(
                customer=customer,
                occurred_at=NOW - dt.timedelta(days=3 + 17 * k + i, hours=i),
                amount=Decimal(500 * (1 + (i + k) % 6)),
                channel=["branch", "atm", "pos", "internet", "mobile"][(i + k) % 5],
                kind=["deposit", "withdrawal", "transfer", "payment", "fee"][(i * k) % 5],
            )
        for k in range(i % 4):
            Interaction.objects.create(
                customer=customer,
                kind=["call", "meeting", "branch_visit", "complaint"][(i + k) % 4],
                channel=["phone", "branch", "sms", "email"][(i * k) % 4],
                direction="outbound" if (i + k) % 2 else "inbound",
                occurred_at=NOW - dt.timedelta(days=5 + 40 * k + i, hours=k),
                outcome=["completed", "no_answer", "interested", ""][k % 4],
                source="test",
            )
        if i % 2:
            Consent.objects.create(
                customer=customer,
                channel=["sms", "email"][i % 4 // 2],
                purpose="marketing",
                granted=i % 3 != 0,
                source="test",
            )
        if i % 4 != 3:
            CustomerValue.objects.create(
                customer=customer,
                score=10 * i,
                priority="ABCD"[i % 4],
                lifecycle=["new", "growing", "mature", "dormant"][i % 4],
                actual_value=Decimal(100 * i),
                loyalty_index=i / 12,
            )
    deleted = CustomerFactory(city="تهران")
    deleted.deleted_at = NOW
    deleted.save()
    return {"region_ids": {"tehran": tehran.pk, "moscow": moscow.pk}, "types": {p.code: p for p in products}}


# --- an independent evaluation in Python ---


def _compare(number: Any, operator: str, value: Any) -> bool:
    if number is None:
        return False
    if operator == "between":
        return value[0] <= number <= value[1]
    return {
        "eq": number == value,
        "ne": number != value,
        "lt": number < value,
        "lte": number <= value,
        "gt": number > value,
        "gte": number >= value,
    }[operator]


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _field(node: rules.FieldCondition, c: Customer, world: dict[str, Any], today: dt.date) -> bool:
    name, op = node.field, node.operator
    value: Any = node.value
    if name == "region":
        current = c.region_id
        if op == "is_empty":
            return current is None
        if op == "is_not_empty":
            return current is not None
        ids = {world["region_ids"][v] for v in (value if isinstance(value, list) else [value])}
        inside = current is not None and current in ids
        return not inside if op in {"ne", "not_in"} else inside
    if name in {"kind", "status", "language", "preferred_channel"}:
        values = value if isinstance(value, list) else [value]
        inside = getattr(c, name) in values
        return not inside if op in {"ne", "not_in"} else inside
    if name == "do_not_contact":
        return c.do_not_contact == value
    if name == "birth_date":
        if op == "is_empty":
            return c.birth_date is None
        if op == "is_not_empty":
            return c.birth_date is not None
        return _compare(c.birth_date, op, value)
    if name == "age":
        return c.birth_date is not None and _compare(Decimal(_age(c.birth_date, today)), op, value)
    if name == "city":
        return {
            "eq": lambda: c.city == value,
            "ne": lambda: c.city != value,
            "contains": lambda: str(value) in c.city,
            "is_empty": lambda: c.city == "",
            "is_not_empty": lambda: c.city != "",
        }[op]()
    raise AssertionError(name)


def _evaluate(node: Any, c: Customer, world: dict[str, Any], ctx: Context) -> bool:
    result: bool
    if isinstance(node, rules.Group):
        results = [_evaluate(child, c, world, ctx) for child in node.children]
        result = all(results) if node.op == "and" else any(results)
    elif isinstance(node, rules.FieldCondition):
        result = _field(node, c, world, ctx.today)
    elif isinstance(node, rules.ProductCondition):
        held = [
            h
            for h in c.holdings.all()
            if h.closed_on is None
            and (not node.product_types or h.product_type.code in node.product_types)
            and (node.credit is None or h.product_type.is_credit == node.credit)
            and (node.balance is None or _compare(h.balance, node.balance.operator, node.balance.value))
        ]
        result = bool(held) if node.has else not held
    elif isinstance(node, rules.TransactionCondition):
        start, end = window_bounds(node.window, ctx)
        amounts = [
            t.amount
            for t in c.transactions.all()
            if start <= t.occurred_at < end
            and (not node.kinds or t.kind in node.kinds)
            and (not node.channels or t.channel in node.channels)
        ]
        measure: Any = {
            "sum": sum(amounts, Decimal(0)),
            "count": Decimal(len(amounts)),
            "avg": (sum(amounts, Decimal(0)) / len(amounts)) if amounts else None,
        }[node.measure]
        result = _compare(measure, node.test.operator, node.test.value)
    elif isinstance(node, rules.InteractionCondition):
        rows = [
            i
            for i in Interaction.objects.filter(customer=c)
            if (not node.kinds or i.kind in node.kinds)
            and (not node.channels or i.channel in node.channels)
            and (not node.outcomes or i.outcome in node.outcomes)
            and (node.direction is None or i.direction == node.direction)
        ]
        if node.measure == "count":
            start, end = window_bounds(node.window, ctx)
            number: Any = Decimal(sum(1 for i in rows if start <= i.occurred_at < end))
        elif rows:
            number = Decimal((ctx.now - max(i.occurred_at for i in rows)) // dt.timedelta(days=1))
        else:
            number = Decimal("Infinity")
        result = _compare(number, node.test.operator, node.test.value)
    elif isinstance(node, rules.ConsentCondition):
        given_ = c.consents.filter(channel=node.channel, purpose=node.purpose, granted=True).exists()
        result = given_ if node.granted else not given_
    elif isinstance(node, rules.ValueCondition):
        value = CustomerValue.objects.filter(customer=c).first()
        if value is None:
            result = False
        elif node.one_of is not None:
            result = getattr(value, node.field) in node.one_of
        else:
            assert node.test is not None
            number = getattr(value, node.field)
            result = _compare(Decimal(str(number)), node.test.operator, node.test.value)
    else:
        raise AssertionError(type(node))
    return not result if node.negate else result


# --- random trees ---

numbers = st.sampled_from([0, 1, 2, 3, 500, 1000, 1500, 2500, 5000, 9000])


@st.composite
def number_tests(draw: Any) -> dict[str, Any]:
    operator = draw(st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "between"]))
    if operator == "between":
        low, high = sorted([draw(numbers), draw(numbers)])
        return {"operator": operator, "value": [low, high]}
    return {"operator": operator, "value": draw(numbers)}


windows = st.one_of(
    st.builds(lambda d: {"kind": "last_days", "days": d}, st.sampled_from([7, 30, 45, 90, 400])),
    st.builds(
        lambda n, cal: {"kind": "previous_month", "months_ago": n, "calendar": cal},
        st.integers(1, 3),
        st.sampled_from(["jalali", "gregorian"]),
    ),
    st.just({"kind": "between", "start": "2026-03-01", "end": "2026-05-31"}),
)


def _subset(options: list[str]) -> Any:
    return st.lists(st.sampled_from(options), unique=True, max_size=2)


field_nodes = st.one_of(
    st.builds(
        lambda f, op, v: {
            "type": "field",
            "field": f,
            "operator": op,
            "value": v if op in {"eq", "ne"} else [v],
        },
        st.sampled_from(["status", "kind", "language"]),
        st.sampled_from(["eq", "ne", "in", "not_in"]),
        st.sampled_from(["customer", "prospect", "person", "organisation", "fa", "ru", "en"]),
    ).filter(lambda n: _fits_choice(n)),
    st.builds(
        lambda op, codes: (
            {"type": "field", "field": "region", "operator": op, "value": codes}
            if op in {"in", "not_in"}
            else (
                {"type": "field", "field": "region", "operator": op, "value": codes[0]}
                if op in {"eq", "ne"}
                else {"type": "field", "field": "region", "operator": op}
            )
        ),
        st.sampled_from(["eq", "ne", "in", "not_in", "is_empty", "is_not_empty"]),
        st.lists(st.sampled_from(["tehran", "moscow"]), min_size=1, max_size=2, unique=True),
    ),
    st.builds(
        lambda b: {"type": "field", "field": "do_not_contact", "operator": "eq", "value": b}, st.booleans()
    ),
    st.builds(
        lambda op, d: (
            {"type": "field", "field": "birth_date", "operator": op, "value": d}
            if op != "between"
            else {"type": "field", "field": "birth_date", "operator": op, "value": ["1965-01-01", d]}
        ),
        st.sampled_from(["eq", "lt", "lte", "gt", "gte", "between"]),
        st.sampled_from(["1966-02-03", "1975-01-01", "1993-12-31", "1990-10-21"]),
    ),
    st.builds(
        lambda op, a: {
            "type": "field",
            "field": "age",
            "operator": op,
            "value": a if op != "between" else [a, a + 10],
        },
        st.sampled_from(["eq", "lt", "lte", "gt", "gte", "between"]),
        st.integers(0, 70),
    ),
    st.builds(
        lambda op, v: (
            {"type": "field", "field": "city", "operator": op, "value": v or "x"}
            if op not in {"is_empty", "is_not_empty"}
            else {"type": "field", "field": "city", "operator": op}
        ),
        st.sampled_from(["eq", "ne", "contains", "is_empty", "is_not_empty"]),
        st.sampled_from(HOSTILE[:-1] + CITIES[:3] + ["Isf", "off_", "'Brien\\"]),
    ),
)


def _fits_choice(node: dict[str, Any]) -> bool:
    values = node["value"] if isinstance(node["value"], list) else [node["value"]]
    allowed = {
        "status": {"customer", "prospect"},
        "kind": {"person", "organisation"},
        "language": {"fa", "ru", "en"},
    }[node["field"]]
    return all(v in allowed for v in values)


leaf_nodes = st.one_of(
    field_nodes,
    st.builds(
        lambda has, types, credit, balance: {
            "type": "product",
            "has": has,
            "product_types": types,
            "credit": credit,
            "balance": balance,
        },
        st.booleans(),
        _subset(["deposit", "loan", "card"]),
        st.sampled_from([None, True, False]),
        st.one_of(st.none(), number_tests()),
    ),
    st.builds(
        lambda measure, window, kinds, channels, test: {
            "type": "transaction",
            "measure": measure,
            "window": window,
            "kinds": kinds,
            "channels": channels,
            "test": test,
        },
        st.sampled_from(["sum", "count", "avg"]),
        windows,
        _subset(["deposit", "withdrawal", "transfer", "payment", "fee"]),
        _subset(["branch", "atm", "pos", "internet", "mobile"]),
        number_tests(),
    ),
    st.builds(
        lambda measure, window, kinds, direction, test: {
            "type": "interaction",
            "measure": measure,
            "window": window if measure == "count" else None,
            "kinds": kinds,
            "direction": direction,
            "test": test,
        },
        st.sampled_from(["count", "days_since_last"]),
        windows,
        _subset(["call", "meeting", "branch_visit", "complaint"]),
        st.sampled_from([None, "inbound", "outbound"]),
        number_tests(),
    ),
    st.builds(
        lambda channel, granted: {
            "type": "consent",
            "channel": channel,
            "purpose": "marketing",
            "granted": granted,
        },
        st.sampled_from(["sms", "email", "phone"]),
        st.booleans(),
    ),
    st.builds(lambda test: {"type": "value", "field": "score", "test": test}, number_tests()),
    st.builds(
        lambda field, values: {"type": "value", "field": field, "one_of": values},
        st.sampled_from(["priority", "lifecycle"]),
        st.sampled_from([["A"], ["B", "C"], ["new"], ["mature", "dormant"]]),
    ).filter(lambda n: (n["field"] == "priority") == (n["one_of"][0] in "ABCD")),
)


def _negatable(node: dict[str, Any], negate: bool) -> dict[str, Any]:
    return {**node, "negate": negate}


nodes = st.recursive(
    st.builds(_negatable, leaf_nodes, st.booleans()),
    lambda children: st.builds(
        lambda op, kids, negate: {"type": "group", "op": op, "children": kids, "negate": negate},
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=1, max_size=3),
        st.booleans(),
    ),
    max_leaves=6,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=nodes, op=st.sampled_from(["and", "or"]))
def test_random_trees_select_what_python_selects(
    world: dict[str, Any], tree: dict[str, Any], op: str
) -> None:
    definition = rules.definition_parse({"version": 1, "root": {"op": op, "children": [tree]}})
    ctx = Context(now=NOW)
    live = list(Customer.objects.filter(deleted_at__isnull=True).prefetch_related("holdings__product_type"))
    expected = {c.pk for c in live if _evaluate(definition.root, c, world, ctx)}
    with CaptureQueriesContext(connection) as queries:
        got = set(
            Customer.objects.filter(deleted_at__isnull=True)
            .filter(compile_definition(definition, context=ctx))
            .values_list("pk", flat=True)
        )
    assert got == expected
    # one query for the members, besides the lookups of list codes
    assert len([q for q in queries.captured_queries if 'FROM "customers_customer"' in q["sql"]]) == 1


def test_hostile_text_is_a_bound_parameter(world: dict[str, Any]) -> None:
    hostile = "'; DROP TABLE customers_customer; --"
    definition = rules.definition_parse(
        {"root": {"children": [{"type": "field", "field": "city", "operator": "contains", "value": hostile}]}}
    )
    query = Customer.objects.filter(compile_definition(definition, context=Context(now=NOW)))
    sql, params = query.query.sql_with_params()
    assert hostile not in sql and hostile in params
    assert query.count() == 0 and Customer.objects.count() == 13


def test_the_reference_segment(world: dict[str, Any]) -> None:
    # clients of a region who have not met a consultant in 3 months, turnover last month above 1,000, no credit
    definition = rules.definition_parse(
        {
            "version": 1,
            "root": {
                "op": "and",
                "children": [
                    {"type": "field", "field": "status", "operator": "eq", "value": "customer"},
                    {"type": "field", "field": "region", "operator": "in", "value": ["tehran", "moscow"]},
                    {
                        "type": "interaction",
                        "measure": "count",
                        "kinds": ["meeting", "branch_visit"],
                        "window": {"kind": "last_days", "days": 90},
                        "test": {"operator": "eq", "value": 0},
                    },
                    {
                        "type": "transaction",
                        "measure": "sum",
                        "window": {"kind": "previous_month", "calendar": "jalali"},
                        "test": {"operator": "gt", "value": 1000},
                    },
                    {"type": "product", "has": False, "credit": True},
                ],
            },
        }
    )
    ctx = Context(now=NOW)
    got = set(
        Customer.objects.filter(compile_definition(definition, context=ctx)).values_list("pk", flat=True)
    )
    live = Customer.objects.filter(deleted_at__isnull=True).prefetch_related("holdings__product_type")
    assert got == {c.pk for c in live if _evaluate(definition.root, c, world, ctx)}


def test_windows_in_both_calendars() -> None:
    ctx = Context(now=dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC))  # 25 Khordad 1405 in Tehran
    jalali = window_bounds(rules.PreviousMonth(kind="previous_month", calendar="jalali"), ctx)
    gregorian = window_bounds(
        rules.PreviousMonth(kind="previous_month", calendar="gregorian", months_ago=6), ctx
    )
    local = [timezone.localtime(moment) for moment in (*jalali, *gregorian)]
    # Ordibehesht 1405 runs from 21 April to 21 May 2026; December 2025 from the 1st to the 31st
    assert [m.date() for m in local] == [
        dt.date(2026, 4, 21),
        dt.date(2026, 5, 22),
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
    ]
    assert all((m.hour, m.minute) == (0, 0) for m in local)


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (dt.date(2024, 2, 29), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 2, 29), 4, dt.date(2020, 2, 29)),
        (dt.date(2026, 6, 15), 30, dt.date(1996, 6, 15)),
    ],
)
def test_years_before(day: dt.date, years: int, expected: dt.date) -> None:
    assert years_before(day, years) == expected
