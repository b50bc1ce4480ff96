"""The points API: balance, tier and entries; redemption with an idempotency key; scoping and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.customers.tests.factories import CustomerFactory
from navid.loyalty.models import PointsEntry
from navid.loyalty.tests.factories import T0, PointsEntryFactory, TierFactory


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


@pytest.fixture
def customer(db: None) -> Any:
    TierFactory(code="silver", threshold=100)
    TierFactory(code="gold", threshold=1000)
    person = CustomerFactory()
    PointsEntryFactory(customer=person, points=400, occurred_at=T0, source_ref="s1")
    return person


def test_points_answer_balance_tier_and_entries(admin_user: Any, customer: Any) -> None:
    response = _client(admin_user).get(f"/api/v1/customers/{customer.pk}/points?page_size=10")
    assert response.status_code == 200
    body = response.json()
    # T0 lies more than 12 months back: the points still count in the balance but not for the tier.
    assert {
        k: body[k] for k in ("balance", "tier", "earned_12_months", "next_tier", "points_to_next_tier")
    } == {
        "balance": 400,
        "tier": None,
        "earned_12_months": 0,
        "next_tier": "silver",
        "points_to_next_tier": 100,
    }
    assert [(e["kind"], e["points"], e["source_ref"]) for e in body["entries"]] == [("manual", 400, "s1")]


def test_redeem_is_idempotent_and_refuses_more_than_the_balance(admin_user: Any, customer: Any) -> None:
    client = _client(admin_user)
    url = f"/api/v1/customers/{customer.pk}/points/redeem"
    first = client.post(url, {"points": 150, "idempotency_key": "abc"}, content_type="application/json")
    again = client.post(url, {"points": 150, "idempotency_key": "abc"}, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["points"] == -150
    other = client.post(url, {"points": 10, "idempotency_key": "abc"}, content_type="application/json")
    assert other.status_code == 409
    too_much = client.post(url, {"points": 251, "idempotency_key": "def"}, content_type="application/json")
    assert too_much.status_code == 422
    assert [(d["field"], d["msg"]) for d in too_much.json()["detail"]] == [
        ("points", "The balance is 250 points: 251 cannot be redeemed.")
    ]
    for bad in (
        {"points": -1, "idempotency_key": "x"},
        {"points": 1.5, "idempotency_key": "x"},
        {"points": 5},
    ):
        assert client.post(url, bad, content_type="application/json").status_code == 422
    assert sorted(PointsEntry.objects.filter(customer=customer).values_list("points", flat=True)) == [
        -150,
        400,
    ]


def test_outside_the_users_scope_is_not_found_and_without_permission_forbidden(
    make_user: Any, customer: Any
) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)  # sees only the customers of their portfolio
    assert _client(manager).get(f"/api/v1/customers/{customer.pk}/points").status_code == 404
    channel = make_user(Role.CHANNEL_MANAGER)
    assert _client(channel).get(f"/api/v1/customers/{customer.pk}/points").status_code == 403
