"""The interactions API: 201 / 422 / 404 / 403 / 401, the timeline with its filter, signals and ingest."""

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.accounts.tests.factories import BranchFactory
from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import Interaction
from navid.interactions.tests.factories import ComplaintCategoryFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


def _post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/interactions", body, content_type="application/json")


def test_log_returns_201_with_the_stored_interaction(make_user: Any) -> None:
    agent = make_user(Role.AGENT, username="agent1")
    customer = CustomerFactory()
    ComplaintCategoryFactory()
    response = _post(
        _client(agent),
        {
            "customer_id": customer.pk,
            "kind": "complaint",
            "channel": "phone",
            "occurred_at": "2025-02-20T10:00:00+03:30",
            "outcome": "open",
            "duration_seconds": 240,
            "cost": "1500.50",
            "employee": "agent1",
            "complaint_category": "fees",
            "request_open": True,
            "notes": "Charged twice",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Interaction.objects.get()
    assert body == {
        "id": stored.pk,
        "customer_id": customer.pk,
        "kind": "complaint",
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2025-02-20T06:30:00Z",
        "outcome": "open",
        "duration_seconds": 240,
        "cost": "1500.50",
        "employee": "agent1",
        "campaign_id": None,
        "notes": "Charged twice",
        "rating": None,
        "complaint_category": "fees",
        "returned_product": None,
        "request_open": True,
        "created_at": body["created_at"],
        "source": "api",
    }
    assert _client(agent).get(f"/api/v1/interactions/{stored.pk}").json() == body


def test_invalid_input_gets_422_with_every_field(make_user: Any) -> None:
    customer = CustomerFactory()
    response = _post(
        _client(make_user(Role.AGENT)),
        {"customer_id": customer.pk, "kind": "call", "occurred_at": "2999-01-01 10:00", "rating": 9},
    )
    assert response.status_code == 422
    assert sorted((d["field"], d["msg"]) for d in response.json()["detail"]) == [
        ("direction", "is required for this kind of interaction"),
        ("occurred_at", "is in the future"),
        ("rating", "must be between 1 and 5"),
    ]
    assert Interaction.objects.count() == 0
    unknown = _post(
        _client(make_user(Role.AGENT)),
        {"customer_id": customer.pk, "kind": "call", "occurred_at": "2025-01-01", "mood": "good"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"][-1] == "mood"


def test_a_customer_outside_the_scope_is_404(make_user: Any) -> None:
    mine, theirs = BranchFactory(), BranchFactory()
    officer = make_user(Role.BRANCH_OFFICER, branch=mine)
    other = CustomerFactory(branch=theirs)
    hidden = InteractionFactory(customer=other)
    client = _client(officer)
    body = {"customer_id": other.pk, "kind": "sms", "direction": "outbound", "occurred_at": "2025-01-01"}
    assert _post(client, body).status_code == 404
    assert client.get(f"/api/v1/interactions/customers/{other.pk}").status_code == 404
    assert client.get(f"/api/v1/interactions/customers/{other.pk}/signals").status_code == 404
    assert client.get(f"/api/v1/interactions/{hidden.pk}").status_code == 404
    assert _post(client, {**body, "customer_id": CustomerFactory(branch=mine).pk}).status_code == 201


def test_without_a_key_401_and_readers_cannot_log_403(make_user: Any) -> None:
    customer = CustomerFactory()
    body = {"customer_id": customer.pk, "kind": "sms", "direction": "outbound", "occurred_at": "2025-01-01"}
    assert Client().post("/api/v1/interactions", body, content_type="application/json").status_code == 401
    assert Client().get(f"/api/v1/interactions/customers/{customer.pk}").status_code == 401
    analyst = _client(make_user(Role.MARKETING_ANALYST))
    assert _post(analyst, body).status_code == 403
    assert analyst.get(f"/api/v1/interactions/customers/{customer.pk}").status_code == 200


def test_timeline_is_paginated_newest_first_and_filtered_by_kind(make_user: Any) -> None:
    customer = CustomerFactory()
    base = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)
    kinds = ["call", "sms", "email", "call", "complaint"]
    made = [
        InteractionFactory(customer=customer, kind=k, occurred_at=base + dt.timedelta(days=n))
        for n, k in enumerate(kinds)
    ]
    InteractionFactory()  # another customer's
    client = _client(make_user(Role.MARKETING_DIRECTOR))
    first = client.get(f"/api/v1/interactions/customers/{customer.pk}", {"page_size": 2}).json()
    assert (first["count"], first["page"], first["num_pages"]) == (5, 1, 3)
    assert [r["id"] for r in first["results"]] == [made[4].pk, made[3].pk]
    last = client.get(f"/api/v1/interactions/customers/{customer.pk}", {"page_size": 2, "page": 3}).json()
    assert [r["id"] for r in last["results"]] == [made[0].pk]
    calls = client.get(f"/api/v1/interactions/customers/{customer.pk}?kind=call&kind=sms").json()
    assert [r["id"] for r in calls["results"]] == [made[3].pk, made[1].pk, made[0].pk]
    bad = client.get(f"/api/v1/interactions/customers/{customer.pk}?kind=fax")
    assert bad.status_code == 422


def test_signals(make_user: Any) -> None:
    customer = CustomerFactory()
    InteractionFactory(
        customer=customer,
        kind="complaint",
        request_open=True,
        occurred_at=timezone.now() - dt.timedelta(days=2),
    )
    body = _client(make_user(Role.AGENT)).get(f"/api/v1/interactions/customers/{customer.pk}/signals").json()
    assert (body["contacts_30d"], body["complaints"], body["open_requests"]) == (1, 1, 1)


def test_ingest_through_the_api(
    make_user: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    customer = CustomerFactory(external_id="C-1")
    client = _client(make_user(Role.MARKETING_ANALYST))
    upload = tmp_path / "calls.csv"
    upload.write_bytes(
        b"external_id,kind,direction,occurred_at\nC-1,call,inbound,2025-02-20 10:00\nC-1,fax,,x\n"
    )
    with upload.open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/interactions/ingest", {"file": handle})
    assert response.status_code == 202, response.content
    job = client.get(f"/api/v1/interactions/ingest/{response.json()['id']}").json()
    assert (job["state"], job["format"], job["accepted_count"], job["rejected_count"], job["percent"]) == (
        "succeeded",
        "csv",
        1,
        1,
        100,
    )
    assert [(e["line"], e["field"]) for e in job["errors"]] == [(3, "kind"), (3, "occurred_at")]
    assert Interaction.objects.get().customer == customer
    agent = _client(make_user(Role.AGENT))
    with upload.open("rb") as handle:
        assert agent.post("/api/v1/interactions/ingest", {"file": handle}).status_code == 403


def test_complaint_categories_list(make_user: Any) -> None:
    ComplaintCategoryFactory()
    body = _client(make_user(Role.AGENT)).get("/api/v1/interactions/complaint-categories").json()
    assert [(c["code"], c["name_fa"]) for c in body] == [("fees", "کارمزدها")]
