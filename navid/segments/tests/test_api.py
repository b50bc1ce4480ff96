"""The segments API: preview, create, errors with the path of the bad node, why, overlap, snapshots, lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.accounts.tests.factories import RegionFactory
from navid.customers.models import ProductHolding, Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.segments.models import Segment, Snapshot, SnapshotMember

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


def _tree(*children: dict[str, Any], op: str = "and") -> dict[str, Any]:
    return {"version": 1, "root": {"type": "group", "op": op, "children": list(children)}}


REGION_TEHRAN = {"type": "field", "field": "region", "operator": "in", "value": ["tehran"]}
NO_CREDIT = {"type": "product", "has": False, "credit": True}


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    tehran = RegionFactory(code="tehran", name_en="Tehran")
    moscow = RegionFactory(code="moscow", name_en="Moscow")
    loan = ProductTypeFactory(code="loan", name_en="Loan", is_credit=True)
    a = CustomerFactory(region=tehran, status="customer", national_id="0012345679")
    b = CustomerFactory(region=tehran, status="customer")
    c = CustomerFactory(region=moscow, status="prospect")
    ProductHolding.objects.create(customer=b, product_type=loan, opened_on=dt.date(2024, 1, 1), balance=5)
    Transaction.objects.create(
        customer=a,
        occurred_at=timezone.now() - dt.timedelta(days=2),
        amount=Decimal(150000),
        channel="atm",
        kind="deposit",
    )
    return {"a": a, "b": b, "c": c}


def test_preview_counts_and_samples_with_masked_ids(make_user: Any, people: dict[str, Any]) -> None:
    # given a campaign manager, who sees national IDs masked
    client = _client(make_user(Role.CAMPAIGN_MANAGER))
    answer = client.post(
        "/api/v1/segments/preview", {"definition": _tree(REGION_TEHRAN, NO_CREDIT)}, "application/json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 1
    assert body["sample"] == [
        {
            "id": people["a"].pk,
            "display_name": people["a"].display_name,
            "status": "customer",
            "region": "tehran",
            "national_id": "•••••••679",
        }
    ]


@pytest.mark.parametrize(
    ("definition", "field", "message"),
    [
        (
            _tree({"type": "field", "field": "shoe_size", "operator": "eq", "value": "42"}),
            "root.children.0.field",
            "must be one of: 'kind'",
        ),
        (
            _tree({"type": "field", "field": "region", "operator": "gt", "value": "x"}),
            "root.children.0",
            "does not apply",
        ),
        (
            {"version": 1, "root": {"type": "group", "op": "and", "children": []}},
            "root.children",
            "at least 1",
        ),
        (
            _tree(
                {
                    "type": "transaction",
                    "measure": "sum",
                    "window": {"kind": "last_days", "days": "many"},
                    "test": {"operator": "gt", "value": 1},
                }
            ),
            "root.children.0.window.days",
            "must be a whole number",
        ),
        (
            _tree({"type": "field", "field": "region", "operator": "in", "value": ["atlantis"]}),
            "root.children.0.value",
            "unknown code in the list “region”: atlantis",
        ),
        ({"version": 2, "root": {"children": [REGION_TEHRAN]}}, "version", "must be one of: 1"),
    ],
)
def test_bad_trees_get_422_with_the_path_of_the_bad_node(
    analyst: Any, people: dict[str, Any], definition: dict[str, Any], field: str, message: str
) -> None:
    answer = _client(analyst).post("/api/v1/segments/preview", {"definition": definition}, "application/json")
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [d["field"] for d in detail] == [field]
    assert message in detail[0]["msg"]


def test_a_tree_deeper_than_the_limit_is_refused(analyst: Any, people: dict[str, Any]) -> None:
    node: dict[str, Any] = REGION_TEHRAN
    for _ in range(9):
        node = {"type": "group", "children": [node]}
    answer = _client(analyst).post(
        "/api/v1/segments/preview", {"definition": {"root": node}}, "application/json"
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["msg"] == "the tree is deeper than 8 levels"


def test_create_then_refer_and_no_cycles(analyst: Any, people: dict[str, Any]) -> None:
    client = _client(analyst)
    created = client.post(
        "/api/v1/segments", {"name": "Tehran", "definition": _tree(REGION_TEHRAN)}, "application/json"
    )
    assert created.status_code == 201
    first = created.json()["id"]
    # a second segment: members of the first without credit
    second = client.post(
        "/api/v1/segments",
        {
            "name": "Tehran, no credit",
            "definition": _tree({"type": "segment", "segment_id": first}, NO_CREDIT),
        },
        "application/json",
    ).json()["id"]
    assert client.get(f"/api/v1/segments/{second}/preview").json()["count"] == 1
    # the first may not now refer to the second: that would be a cycle
    answer = client.patch(
        f"/api/v1/segments/{first}",
        {"definition": _tree({"type": "segment", "segment_id": second})},
        "application/json",
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == f"root.children.0<{second}>.root.children.0.segment_id"
    # and it cannot be archived while the second uses it
    assert client.delete(f"/api/v1/segments/{first}").status_code == 409


def test_why_names_each_condition(analyst: Any, people: dict[str, Any]) -> None:
    client = _client(analyst)
    segment = client.post(
        "/api/v1/segments", {"name": "T", "definition": _tree(REGION_TEHRAN, NO_CREDIT)}, "application/json"
    ).json()["id"]
    why = client.get(f"/api/v1/segments/{segment}/why/{people['b'].pk}").json()
    assert why["holds"] is False
    assert [(c["text"], c["holds"]) for c in why["children"]] == [
        ("region is one of Tehran", True),
        ("holds no credit product", False),
    ]


def test_overlap_of_two_segments(analyst: Any, people: dict[str, Any]) -> None:
    client = _client(analyst)
    tehran = client.post(
        "/api/v1/segments", {"name": "T", "definition": _tree(REGION_TEHRAN)}, "application/json"
    )
    customers = client.post(
        "/api/v1/segments",
        {
            "name": "C",
            "definition": _tree({"type": "field", "field": "status", "operator": "eq", "value": "customer"}),
        },
        "application/json",
    )
    answer = client.get(
        f"/api/v1/segments/overlap?first={tehran.json()['id']}&second={customers.json()['id']}"
    )
    assert answer.json() == {"first": 2, "second": 2, "both": 2, "only_first": 0, "only_second": 0}


def test_snapshot_freezes_membership(
    analyst: Any, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(analyst)
    segment = client.post(
        "/api/v1/segments", {"name": "T", "definition": _tree(REGION_TEHRAN)}, "application/json"
    )
    segment_id = segment.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/api/v1/segments/{segment_id}/snapshots")
    assert answer.status_code == 202
    snapshot = Snapshot.objects.get(pk=answer.json()["id"])
    assert (snapshot.state, snapshot.member_count) == ("done", 2)
    assert set(SnapshotMember.objects.filter(snapshot=snapshot).values_list("customer_id", flat=True)) == {
        people["a"].pk,
        people["b"].pk,
    }
    # a new Tehran customer joins the segment but not the frozen snapshot
    CustomerFactory(region=people["a"].region)
    assert client.get(f"/api/v1/segments/{segment_id}/preview").json()["count"] == 3
    assert client.get(f"/api/v1/segments/{segment_id}/snapshots").json()[0]["member_count"] == 2


def test_static_segment_from_an_uploaded_list(analyst: Any, people: dict[str, Any]) -> None:
    client = _client(analyst)
    segment = client.post("/api/v1/segments", {"name": "List", "kind": "static"}, "application/json").json()[
        "id"
    ]
    bad = client.put(
        f"/api/v1/segments/{segment}/members", {"identifiers": ["0012345679", "nobody"]}, "application/json"
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["msg"] == "line 2: no customer “nobody”"
    assert Segment.objects.get(pk=segment).static_members.count() == 0
    good = client.put(
        f"/api/v1/segments/{segment}/members",
        {"identifiers": ["۰۰۱۲۳۴۵۶۷۹", str(people["c"].pk)]},
        "application/json",
    )
    assert good.json() == {"members": 2}
    assert client.get(f"/api/v1/segments/{segment}/preview").json()["count"] == 2


def test_roles_without_the_permission_get_403(make_user: Any, people: dict[str, Any]) -> None:
    agent = _client(make_user(Role.AGENT))
    assert (
        agent.post(
            "/api/v1/segments/preview", {"definition": _tree(REGION_TEHRAN)}, "application/json"
        ).status_code
        == 403
    )
    director = _client(make_user(Role.MARKETING_DIRECTOR))
    assert (
        director.post(
            "/api/v1/segments", {"name": "x", "definition": _tree(REGION_TEHRAN)}, "application/json"
        ).status_code
        == 403
    )


def test_rules_in_words_use_names_in_the_users_language(people: dict[str, Any]) -> None:
    from django.utils import translation

    from navid.segments.describe import describe
    from navid.segments.rules import definition_parse

    tree = definition_parse(
        _tree(
            {"type": "field", "field": "region", "operator": "in", "value": ["tehran"]},
            {
                "type": "interaction",
                "measure": "count",
                "kinds": ["meeting"],
                "window": {"kind": "last_days", "days": 1},
                "test": {"operator": "eq", "value": 0},
            },
            {"type": "value", "field": "lifecycle", "one_of": ["dormant"], "negate": True},
        )
    )
    region, meetings, lifecycle = tree.root.children
    assert describe(region) == "region is one of Tehran"
    assert describe(meetings) == "interactions (Meeting) in the last 1 day: number is 0"
    assert describe(lifecycle) == "not: lifecycle phase is one of Dormant"
    with translation.override("ru"):
        assert describe(meetings).startswith("взаимодействия (Встреча)")
