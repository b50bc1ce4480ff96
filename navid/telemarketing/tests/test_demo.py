"""The demo call campaign: running, with a script, outcome codes and the demo agent's call list."""

from __future__ import annotations

import pytest

from navid.accounts.demo import demo_users_ensure
from navid.campaigns.models import State
from navid.customers.demo import reference_lists_ensure
from navid.offers.demo import offers_demo_seed
from navid.telemarketing.demo import DEMO_CALL_CAMPAIGN, telemarketing_demo_seed
from navid.telemarketing.models import Agent, CallEntry, OutcomeCode, ScriptNode
from navid.telemarketing.services import agent_set_state, next_call_take
from navid.telemarketing.tests.factories import phone_customers

pytestmark = pytest.mark.django_db


def test_the_demo_call_campaign_is_running_with_a_script_once() -> None:
    reference_lists_ensure()
    demo_users_ensure()
    offers_demo_seed(train=False)
    phone_customers(30)

    campaign = telemarketing_demo_seed()
    again = telemarketing_demo_seed()

    assert campaign is not None and again is not None and again.pk == campaign.pk
    campaign.refresh_from_db()
    assert campaign.name == DEMO_CALL_CAMPAIGN and campaign.state == State.RUNNING
    assert campaign.call_settings.mode == "preview"
    assert ScriptNode.objects.filter(campaign=campaign).count() == 5
    assert ScriptNode.objects.get(campaign=campaign, is_start=True).key == "greeting"
    assert OutcomeCode.objects.filter(campaign=campaign).count() == 9
    # the treatment group (about 90 % of 30) is the call list, all given to the demo agent
    entries = CallEntry.objects.filter(campaign=campaign)
    assert 20 <= entries.count() <= 30
    agent = Agent.objects.get(user__username="agent")
    assert set(entries.values_list("agent_id", flat=True)) == {agent.pk}
    agent_set_state(agent=agent, state="ready")
    assert next_call_take(agent=agent) is not None
