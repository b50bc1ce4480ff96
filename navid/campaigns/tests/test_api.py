"""REST API of campaigns: plan, workflow actions with their 403 and 409 answers, and the results."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from celery import current_app
from django.test import Client
from django.utils import timezone

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.campaigns.models import Campaign, Decision, Group, OutboxMessage, OutboxState, State
from navid.campaigns.tests.factories import BrandFactory
from navid.campaigns.tests.plan_helpers import fast_passwords, segment
from navid.customers.models import ProductHolding
from navid.customers.tests.factories import CustomerFactory
from navid.offers.tests.factories import OfferFactory

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


@pytest.fixture
def people(make_user: Any) -> dict[str, Any]:
    return {
        "maker": make_user(Role.CAMPAIGN_MANAGER, username="maker"),
        "director": make_user(Role.MARKETING_DIRECTOR, username="director"),
        "analyst": make_user(Role.MARKETING_ANALYST, username="analyst"),
        "admin": make_user(Role.ADMINISTRATOR, username="admin"),
    }


@pytest.fixture(autouse=True)
def sent(monkeypatch: Any) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args=None, **kw: calls.append((name, args)))
    return calls


def _payload(**changes: Any) -> dict[str, Any]:
    payload = {
        "name": "Deposit cross-sell",
        "goal": "cross_sell",
        "target_segment_ids": [segment().pk],
        "offer_id": OfferFactory().pk,
        "brand_id": BrandFactory().pk,
        "starts_at": "2026-12-01T09:00:00+03:30",
        "ends_at": "2026-12-31T18:00:00+03:30",
        "waves_max": 3,
        "repeat_every_days": 7,
        "control_percent": "10",
        "control_seed": 77,
        "budget_planned": "5000000",
        "channels": [{"channel": "email", "unit_cost": "50", "planned_cost": "1000000"}],
        "templates": [
            {"channel": "email", "language": "fa", "subject": "پیشنهاد", "body": "{first_name} گرامی"},
            {"channel": "email", "language": "en", "subject": "Offer", "body": "Dear {first_name}"},
        ],
    }
    payload.update(changes)
    return payload


def _create(client: Client, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/campaigns", _payload(**changes), content_type="application/json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_create_get_and_list_a_campaign(people: dict[str, Any]) -> None:
    body = _create(_client(people["maker"]))

    assert body["state"] == "draft"
    assert body["owner"] == "maker"
    assert body["control_seed"] == 77
    assert body["channels"] == [
        {
            "channel": "email",
            "priority": 1,
            "unit_cost": "50.00",
            "planned_cost": "1000000.00",
            "rate_per_second": 100,
        }
    ]
    assert [t["language"] for t in body["templates"]] == ["en", "fa"]
    assert body["actions"] == ["update", "submit"]
    assert body["starts_at"] == "2026-12-01T05:30:00Z"

    analyst = _client(people["analyst"])
    got = analyst.get(f"/api/v1/campaigns/{body['id']}").json()
    assert got["name"] == "Deposit cross-sell" and got["actions"] == []
    assert [c["id"] for c in analyst.get("/api/v1/campaigns?state=draft").json()] == [body["id"]]
    assert analyst.get("/api/v1/campaigns?state=running").json() == []
    assert analyst.get("/api/v1/campaigns/999999").status_code == 404


def test_a_bad_plan_gets_422_with_the_place_of_each_error(people: dict[str, Any]) -> None:
    response = _client(people["maker"]).post(
        "/api/v1/campaigns",
        _payload(
            templates=[{"channel": "email", "language": "en", "subject": "Hi", "body": "Dear {name}"}],
            ends_at="2026-11-01T09:00:00+03:30",
        ),
        content_type="application/json",
    )
    assert response.status_code == 422
    detail = {(d["field"], d["msg"]) for d in response.json()["detail"]}
    assert ("ends_at", "The end must be after the start.") in detail
    assert any(f == "templates.email.en.body" and m.startswith("Unknown fields: {name}.") for f, m in detail)
    assert Campaign.objects.count() == 0


def test_an_analyst_cannot_create_and_gets_403(people: dict[str, Any]) -> None:
    response = _client(people["analyst"]).post(
        "/api/v1/campaigns", _payload(), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have the permission campaigns.add_campaign."}


def test_patch_changes_only_what_is_sent(people: dict[str, Any]) -> None:
    client = _client(people["maker"])
    body = _create(client)

    response = client.patch(
        f"/api/v1/campaigns/{body['id']}", {"budget_planned": "6000000"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["budget_planned"] == "6000000.00"
    assert response.json()["templates"] == body["templates"]


def test_the_workflow_over_the_api_with_403_and_409(
    people: dict[str, Any], sent: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    admin, director = _client(people["admin"]), _client(people["director"])
    body = _create(admin)
    url = f"/api/v1/campaigns/{body['id']}"

    response = admin.post(f"{url}/launch", {}, content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {"detail": "The campaign has not been approved, so it cannot be launched."}

    assert admin.post(f"{url}/submit", {}, content_type="application/json").json()["state"] == "submitted"
    response = admin.post(f"{url}/approve", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "The person who made or submitted a campaign cannot approve or reject it; another person must."
    }
    response = _client(people["analyst"]).post(f"{url}/approve", {}, content_type="application/json")
    assert response.status_code == 403

    response = director.post(f"{url}/approve", {"note": "Go"}, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["approved_by"]) == ("approved", "director")

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"{url}/launch", {}, content_type="application/json").json()["state"] == "running"
    assert sent == [("navid.campaigns.tasks.launch_campaign", [body["id"]])]
    response = admin.patch(url, {"name": "New name"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The campaign is running: it cannot be edited, only paused or stopped."
    }
    assert admin.post(f"{url}/pause", {}, content_type="application/json").json()["state"] == "paused"
    assert admin.post(f"{url}/resume", {}, content_type="application/json").json()["state"] == "running"
    assert director.post(f"{url}/stop", {}, content_type="application/json").json()["state"] == "stopped"
    assert Campaign.objects.get().state == State.STOPPED


def test_reject_without_a_note_is_422(people: dict[str, Any]) -> None:
    body = _create(_client(people["maker"]))
    url = f"/api/v1/campaigns/{body['id']}"
    _client(people["maker"]).post(f"{url}/submit", {}, content_type="application/json")

    response = _client(people["director"]).post(
        f"{url}/reject", {"note": ""}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "note"


def test_results_answer_every_figure_other_systems_rely_on(people: dict[str, Any]) -> None:
    body = _create(_client(people["maker"]))
    campaign = Campaign.objects.get(pk=body["id"])
    treated, control = CustomerFactory(), CustomerFactory()
    excluded = CustomerFactory()
    Decision.objects.bulk_create(
        [
            Decision(campaign=campaign, customer=treated, group=Group.TREATMENT),
            Decision(campaign=campaign, customer=control, group=Group.CONTROL),
            Decision(campaign=campaign, customer=excluded, group=Group.EXCLUDED, rule="consent"),
        ]
    )
    OutboxMessage.objects.create(
        campaign=campaign,
        customer=treated,
        channel="email",
        language="fa",
        address="a@example.com",
        idempotency_key=f"{campaign.pk}:1:{treated.pk}:email",
        state=OutboxState.DELIVERED,
        cost=Decimal("50"),
        opened_at=timezone.now(),
    )
    assert campaign.offer is not None
    ProductHolding.objects.create(
        customer=treated, product_type=campaign.offer.product_type, opened_on=dt.date(2026, 12, 2)
    )

    response = _client(people["analyst"]).get(f"/api/v1/campaigns/{campaign.pk}/results")

    assert response.status_code == 200
    r = response.json()
    assert (r["targeted"], r["excluded"], r["control"], r["treatment"]) == (3, {"consent": 1}, 1, 1)
    assert (r["notified"], r["opened"], r["clicked"], r["responded"], r["converted"]) == (1, 1, 0, 1, 1)
    assert (r["uplift"]["treatment_rate"], r["uplift"]["control_rate"], r["uplift"]["difference"]) == (
        1.0,
        0.0,
        1.0,
    )
    assert set(r["uplift"]) >= {"ci_low", "ci_high", "p_value"}
    assert (r["cost_planned"], r["cost_actual"]) == ("5000000.00", "50.00")
    assert r["roi"] == pytest.approx((1500000 - 50) / 50)
    assert r["final"] is False
