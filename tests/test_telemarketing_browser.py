"""In real Chromium: an agent logs in, presses Ready, sees the customer and the script, calls, records the outcome,
and the console waits for the next call."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import browser_test

pytestmark = browser_test


@pytest.mark.django_db(transaction=True)
def test_agent_ready_sees_the_customer_and_records_an_outcome(live_server: Any, page: Any) -> None:
    from navid.accounts.roles import Role
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import ContactPolicy
    from navid.interactions.models import Interaction
    from navid.telemarketing.models import CallEntry, EntryState
    from navid.telemarketing.tests.factories import (
        AgentFactory,
        ScriptBranchFactory,
        ScriptNodeFactory,
        call_campaign,
        phone_customers,
    )

    roles_sync()
    policy = ContactPolicy.load()
    policy.quiet_channels = []  # the test may run at any hour
    policy.save()
    user = UserFactory(username="agent1", password="pass-word-123", role=Role.AGENT)
    agent = AgentFactory(user=user)
    customer = phone_customers(1, first_name="Sara", last_name="Karimi", language="en")[0]
    campaign = call_campaign(customers=[customer], agents=[agent])
    hello = ScriptNodeFactory(
        campaign=campaign, key="hello", is_start=True, text_en="Hello, Navid Bank here."
    )
    offer = ScriptNodeFactory(campaign=campaign, key="offer", text_en="A term deposit at 23 % for you.")
    ScriptBranchFactory(node=hello, answer_en="Has a minute", next_node=offer)
    base = live_server.url

    page.goto(f"{base}/login/?next=/telemarketing/console/")
    page.fill("#id_username", "agent1")
    page.fill("#id_password", "pass-word-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/telemarketing/console/")
    page.wait_for_selector("#waiting-text")

    page.click("#btn-ready")
    page.wait_for_selector("#customer-name")
    assert page.inner_text("#customer-name") == "Sara Karimi"
    assert "Hello, Navid Bank here." in page.inner_text("#script-node")
    page.click("#script-node button")
    page.wait_for_selector("#script-node[data-key=offer]")
    assert "23 %" in page.inner_text("#script-node")

    page.click("#btn-call")
    page.wait_for_selector("#attempt-state[data-state=talking]")
    page.select_option("#id_outcome", label="Not interested")
    page.fill("#id_notes", "Already has a deposit")
    page.click("#btn-outcome")
    page.wait_for_selector("#waiting-text")
    assert "No calls waiting for you." in page.inner_text("#agent-queue")

    interaction = Interaction.objects.get(customer=customer)
    assert (interaction.outcome, interaction.notes, interaction.employee_id) == (
        "not_interested",
        "Already has a deposit",
        user.pk,
    )
    assert CallEntry.objects.get(campaign=campaign).state == EntryState.DONE
