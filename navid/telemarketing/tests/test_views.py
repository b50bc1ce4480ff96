"""The console, supervisor, setup and report pages through the test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from navid.accounts.roles import Role
from navid.campaigns.tests.plan_helpers import segment
from navid.interactions.models import Interaction
from navid.telemarketing.models import Agent, AgentState, AttemptState, CallAttempt, OutcomeCode, ScriptNode
from navid.telemarketing.tests.factories import (
    AgentFactory,
    ScriptBranchFactory,
    ScriptNodeFactory,
    call_campaign,
    code,
    phone_customers,
)

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_agent_takes_a_call_from_the_console_and_records_the_outcome(roles: None) -> None:
    agent = AgentFactory()
    customers = phone_customers(1, first_name="Maryam", last_name="Ahmadi", national_id="0084575948")
    campaign = call_campaign(customers=customers, agents=[agent])
    start = ScriptNodeFactory(campaign=campaign, key="hello", is_start=True, text_en="Hello, Navid Bank.")
    offer = ScriptNodeFactory(campaign=campaign, key="offer", text_en="A deposit at 23 %.")
    ScriptBranchFactory(node=start, answer_en="Has time", next_node=offer)
    client = _client(agent.user)
    assert client.get(reverse("telemarketing:console")).status_code == 200
    client.post(reverse("telemarketing:console-state"), {"state": "ready"})
    page = client.get(reverse("telemarketing:console-panel")).content.decode()
    assert "Maryam Ahmadi" in page
    assert "•••••••948" in page  # agents see the national ID masked
    assert "0084575948" not in page
    assert "Hello, Navid Bank." in page and "Has time" in page
    attempt = CallAttempt.objects.get()
    script = client.get(reverse("telemarketing:console-script", args=[offer.pk])).content.decode()
    assert "A deposit at 23 %." in script
    client.post(reverse("telemarketing:console-call", args=[attempt.pk]))
    assert CallAttempt.objects.get().state == AttemptState.TALKING
    assert Agent.objects.get(pk=agent.pk).state == AgentState.ON_CALL
    # a call back without its time is refused, with the field named
    refused = client.post(
        reverse("telemarketing:console-outcome", args=[attempt.pk]),
        {"outcome": code(campaign, "call_back").pk, "notes": ""},
    ).content.decode()
    assert 'id="callback-error"' in refused
    assert CallAttempt.objects.get().state == AttemptState.TALKING
    done = client.post(
        reverse("telemarketing:console-outcome", args=[attempt.pk]),
        {"outcome": code(campaign, "not_interested").pk, "notes": "has a deposit elsewhere"},
    ).content.decode()
    assert "No calls waiting for you." in done
    interaction = Interaction.objects.get()
    assert (interaction.outcome, interaction.notes) == ("not_interested", "has a deposit elsewhere")


def test_console_is_for_agents(make_user: Any) -> None:
    analyst = make_user(Role.MARKETING_ANALYST)
    assert _client(analyst).get(reverse("telemarketing:console")).status_code == 403


def test_supervisor_sees_agents_calls_and_progress(make_user: Any) -> None:
    supervisor = make_user(Role.CHANNEL_MANAGER)
    agent = AgentFactory()
    campaign = call_campaign(customers=phone_customers(2), agents=[agent])
    agent_client = _client(agent.user)
    agent_client.post(reverse("telemarketing:console-state"), {"state": "ready"})
    agent_client.get(reverse("telemarketing:console-panel"))
    attempt = CallAttempt.objects.get()
    agent_client.post(reverse("telemarketing:console-call", args=[attempt.pk]))
    board = _client(supervisor).get(reverse("telemarketing:supervisor-board")).content.decode()
    assert "On a call" in board
    assert attempt.customer.display_name in board
    assert f'data-campaign="{campaign.pk}"' in board
    page = _client(supervisor).get(reverse("telemarketing:supervisor"))
    assert page.status_code == 200


def test_supervisor_reassigns_and_edits_an_agent(make_user: Any) -> None:
    supervisor = make_user(Role.CAMPAIGN_MANAGER)
    a, b = AgentFactory(), AgentFactory()
    campaign = call_campaign(customers=phone_customers(2), agents=[a])
    client = _client(supervisor)
    response = client.post(
        reverse("telemarketing:agent-edit", args=[b.user_id]),
        {"extension": "PJSIP/2002", "languages": "fa, en", "skills": "loans", "campaigns": [campaign.pk]},
    )
    assert response.status_code == 302
    b.refresh_from_db()
    assert (b.extension, b.languages, b.skills) == ("PJSIP/2002", ["fa", "en"], ["loans"])
    client.post(reverse("telemarketing:supervisor-reassign"), {"from_agent": a.pk, "to_agent": b.pk})
    assert set(campaign.call_entries.values_list("agent_id", flat=True)) == {b.pk}
    bad = client.post(
        reverse("telemarketing:agent-edit", args=[b.user_id]), {"languages": "fa, de", "campaigns": []}
    ).content.decode()
    assert "Choose languages from fa, ru and en." in bad


def test_manager_sets_up_settings_outcomes_and_script(make_user: Any) -> None:
    manager = make_user(Role.CAMPAIGN_MANAGER)
    campaign = call_campaign(customers=[])
    client = _client(manager)
    url = reverse("telemarketing:campaign-setup", args=[campaign.pk])
    assert client.get(url).status_code == 200
    values = {
        "mode": "predictive",
        "trunk": "",
        "caller_id": "+982100000000",
        "max_abandon_percent": "3",
        "tariff_per_minute": "450",
        "assignment": "round_robin",
        "skill": "",
        "ring_timeout_seconds": "30",
    }
    page = client.post(url, values).content.decode()
    assert 'data-field="trunk"' in page
    assert client.post(url, {**values, "trunk": "PJSIP/operator"}).status_code == 302
    campaign.call_settings.refresh_from_db()
    assert campaign.call_settings.mode == "predictive"
    response = client.post(
        reverse("telemarketing:outcome-add", args=[campaign.pk]),
        {
            "code": "has_product",
            "label_fa": "محصول را دارد",
            "action": "finish",
            "interaction_outcome": "not_interested",
            "contacted": "on",
            "retry_attempts": "1",
            "retry_minutes": "0",
            "position": "20",
        },
    )
    assert response.status_code == 302
    assert OutcomeCode.objects.filter(campaign=campaign, code="has_product", contacted=True).count() == 1
    client.post(
        reverse("telemarketing:node-add", args=[campaign.pk]),
        {
            "key": "hello",
            "kind": "statement",
            "title": "Greeting",
            "text_fa": "سلام",
            "position": "0",
            "is_start": "on",
        },
    )
    node = ScriptNode.objects.get(campaign=campaign)
    empty = client.post(
        reverse("telemarketing:node-add", args=[campaign.pk]),
        {"key": "empty", "kind": "question", "title": "Empty", "position": "1"},
    ).content.decode()
    assert "Write the text in at least one language." in empty
    client.post(
        reverse("telemarketing:branch-add", args=[campaign.pk, node.pk]),
        {"answer_en": "Busy now", "next_node": "", "position": "0"},
    )
    assert list(node.branches.values_list("answer_en", flat=True)) == ["Busy now"]


def test_reports_per_campaign_agent_and_segment(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    agent = AgentFactory()
    campaign = call_campaign(customers=phone_customers(1), agents=[agent])
    campaign.target_segments.add(segment("Young savers"))
    client = _client(agent.user)
    client.post(reverse("telemarketing:console-state"), {"state": "ready"})
    client.get(reverse("telemarketing:console-panel"))
    attempt = CallAttempt.objects.get()
    client.post(reverse("telemarketing:console-call", args=[attempt.pk]))
    client.post(
        reverse("telemarketing:console-outcome", args=[attempt.pk]),
        {"outcome": code(campaign, "interested").pk, "notes": ""},
    )
    page = _client(director).get(reverse("telemarketing:reports")).content.decode()
    assert "Young savers" in page
    assert campaign.name in page
    assert _client(agent.user).get(reverse("telemarketing:reports")).status_code == 403
