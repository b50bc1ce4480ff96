"""Two agents, each in its own thread with its own database connection, never get the same customer at once.

Run it on PostgreSQL (DATABASE_URL=postgres://...) to exercise SELECT ... FOR UPDATE SKIP LOCKED; on SQLite the
write lock serialises the conditional UPDATEs and the same assertions hold.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from navid.telemarketing import services
from navid.telemarketing.models import AgentState, CallAttempt, CallEntry, EntryState
from navid.telemarketing.tests.factories import AgentFactory, call_campaign, code, phone_customers

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_agents_in_two_threads_never_share_a_customer(roles: None) -> None:
    agents = AgentFactory.create_batch(2)
    customers = phone_customers(20)
    campaign = call_campaign(customers=customers)
    # a second campaign over the same customers: the one-active-per-customer index works across campaigns
    other = call_campaign(customers=customers)
    outcome = {campaign.pk: code(campaign, "not_interested"), other.pk: code(other, "not_interested")}
    for agent in agents:
        agent.campaigns.add(campaign, other)
        services.agent_set_state(agent=agent, state=AgentState.READY)
    barrier = threading.Barrier(2)
    overlaps: list[int] = []
    errors: list[BaseException] = []

    def work(agent_index: int) -> None:
        agent = agents[agent_index]
        try:
            barrier.wait()
            while True:
                attempt = services.next_call_take(agent=agent)
                if attempt is None:
                    break
                held = CallEntry.objects.filter(
                    customer_id=attempt.customer_id, state=EntryState.ACTIVE
                ).count()
                if held != 1:
                    overlaps.append(attempt.customer_id)
                services.attempt_close(
                    actor=agent.user, attempt=attempt, outcome=outcome[attempt.campaign_id]
                )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert overlaps == []
    # every entry of both campaigns was called exactly once
    per_entry = Counter(CallAttempt.objects.values_list("entry_id", flat=True))
    assert len(per_entry) == 40 and set(per_entry.values()) == {1}
    assert not CallEntry.objects.exclude(state=EntryState.DONE).exists()
    # both agents worked
    assert set(CallAttempt.objects.values_list("agent_id", flat=True)) == {agents[0].pk, agents[1].pk}


def test_the_dialer_command_needs_the_ami_address(settings: object) -> None:
    settings.NAVID_AMI_URL = ""  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="NAVID_AMI_URL is not set"):
        call_command("dialer")
