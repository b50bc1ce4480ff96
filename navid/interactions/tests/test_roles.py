"""Which role reads, logs and ingests interactions, and for which customers a relationship manager logs."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

READ = {"view_interaction"}
LOG = {"view_interaction", "add_interaction"}
LISTS = {f"{verb}_complaintcategory" for verb in ("view", "add", "change", "delete")}


def test_each_role_holds_exactly_its_interaction_permissions(roles: None) -> None:
    expected = {
        Role.MARKETING_DIRECTOR: READ,
        Role.MARKETING_ANALYST: READ | {"ingest_interactions"},
        Role.CAMPAIGN_MANAGER: READ,
        Role.SEGMENT_MANAGER: READ,
        Role.CHANNEL_MANAGER: READ,
        Role.AGENT: LOG,
        Role.BRANCH_OFFICER: LOG,
        Role.RELATIONSHIP_MANAGER: LOG,
        Role.ADMINISTRATOR: LOG | {"ingest_interactions"} | LISTS,
    }
    held = {
        Role(group.name): set(
            group.permissions.filter(content_type__app_label="interactions").values_list(
                "codename", flat=True
            )
        )
        for group in Group.objects.all()
    }
    assert held == expected


def test_a_relationship_manager_logs_for_their_portfolio_only(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    client = Client(headers={"Authorization": f"Bearer {api_key_create(user=manager)}"})
    body = {"kind": "meeting", "channel": "field", "direction": "outbound", "occurred_at": "2025-02-20 10:00"}
    own = CustomerFactory(relationship_manager=manager)
    other = CustomerFactory()
    response = client.post(
        "/api/v1/interactions", {**body, "customer_id": own.pk}, content_type="application/json"
    )
    assert response.status_code == 201
    response = client.post(
        "/api/v1/interactions", {**body, "customer_id": other.pk}, content_type="application/json"
    )
    assert response.status_code == 404
