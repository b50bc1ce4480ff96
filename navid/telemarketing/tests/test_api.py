"""The read-only telemarketing API: call reports and agents' states."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.accounts.services import api_key_create
from navid.telemarketing import services
from navid.telemarketing.models import AgentState
from navid.telemarketing.tests.factories import AgentFactory, call_campaign, code, phone_customers

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=user)}"})


def test_call_reports_per_campaign_and_agent(make_user: Any) -> None:
    agent = AgentFactory()
    campaign = call_campaign(customers=phone_customers(2), agents=[agent], tariff_per_minute=Decimal("120"))
    services.agent_set_state(agent=agent, state=AgentState.READY)
    for name in ("interested", "busy"):
        attempt = services.next_call_take(agent=agent)
        assert attempt is not None
        services.attempt_call(attempt=attempt, through_dialer=False)
        services.attempt_close(actor=agent.user, attempt=attempt, outcome=code(campaign, name))
    director = make_user(Role.MARKETING_DIRECTOR)
    rows = _client(director).get("/api/v1/telemarketing/reports/campaigns").json()
    assert [(r["key"], r["attempts"], r["contacts"], r["conversions"], r["contact_rate"]) for r in rows] == [
        (campaign.pk, 2, 1, 1, 50.0)
    ]
    agents = _client(director).get(f"/api/v1/telemarketing/reports/agents?campaign_id={campaign.pk}").json()
    assert [(r["key"], r["attempts"], r["conversion_rate"]) for r in agents] == [(agent.pk, 2, 100.0)]


def test_agents_states_need_the_supervisor(make_user: Any) -> None:
    agent = AgentFactory()
    call_campaign(customers=phone_customers(1), agents=[agent])
    services.agent_set_state(agent=agent, state=AgentState.READY)
    supervisor = make_user(Role.CHANNEL_MANAGER)
    rows = _client(supervisor).get("/api/v1/telemarketing/agents").json()
    assert rows == [
        {
            "agent_id": agent.pk,
            "username": agent.user.username,
            "state": "ready",
            "customer_id": None,
            "campaign_id": None,
        }
    ]
    assert _client(agent.user).get("/api/v1/telemarketing/agents").status_code == 403
