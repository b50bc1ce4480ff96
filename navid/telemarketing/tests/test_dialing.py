"""The dialer process against the AMI simulator on the wire: attempt rows follow the calls, also across a drop.

Set NAVID_TEST_AMI_URL to point the dialer tests of navid/channels at a real Asterisk; these tests steer the
simulator's numbers by their last digit, so they always run against it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from navid.channels.amisim import AmiSimulator, Script, last_digit_rule
from navid.channels.dialer import AsteriskDialer
from navid.interactions.models import Interaction
from navid.telemarketing import services
from navid.telemarketing.dialing import DialerProcess
from navid.telemarketing.models import (
    Agent,
    AgentState,
    AttemptState,
    CallAttempt,
    CallEntry,
    EntryState,
)
from navid.telemarketing.tests.factories import AgentFactory, call_campaign, code, phone_customers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulator() -> Iterator[AmiSimulator]:
    sim = AmiSimulator(rule=last_digit_rule(ring_s=0.02, talk_s=0.3, patience_s=5.0)).start()
    yield sim
    sim.stop()


def _run_until(process: DialerProcess, done: Callable[[], bool], timeout: float = 15.0) -> None:
    """Run the process until `done()` (read from the database) is true."""

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(process.run(stop))
        deadline = time.monotonic() + timeout
        try:
            while not await sync_to_async(done)():
                if task.done():
                    task.result()
                assert time.monotonic() < deadline, "the dialer process did not get there in time"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await task

    asyncio.run(main())


def _dialer(sim: AmiSimulator, delays: tuple[float, ...] = (0.05, 0.2)) -> AsteriskDialer:
    return AsteriskDialer.from_url(
        f"ami://navid:secret@127.0.0.1:{sim.port}", context="navid-dialer", reconnect_delays_s=delays
    )


def _ready(agent: Agent) -> None:
    services.agent_set_state(agent=agent, state=AgentState.READY)


def test_progressive_dialer_records_busy_no_answer_and_a_talk(roles: None, simulator: AmiSimulator) -> None:
    agent = AgentFactory(extension="PJSIP/1001")
    busy = phone_customers(1, phone="+989121000011")
    unanswered = phone_customers(1, phone="+989121000022")
    talker = phone_customers(1, phone="+989121000036")
    campaign = call_campaign(
        customers=busy + unanswered + talker,
        agents=[agent],
        mode="progressive",
        trunk="PJSIP/operator",
        caller_id="+982100000000",
    )
    _ready(agent)
    process = DialerProcess(dialer=_dialer(simulator), tick_seconds=0.05)
    _run_until(process, lambda: CallAttempt.objects.filter(state=AttemptState.WRAP_UP).exists())
    rows = {a.customer_id: a for a in CallAttempt.objects.select_related("outcome").order_by("pk")}
    assert [originate["channel"] for originate in simulator.originates] == [
        "PJSIP/989121000011@operator",
        "PJSIP/989121000022@operator",
        "PJSIP/989121000036@operator",
    ]
    assert {o["callerid"] for o in simulator.originates} == {"+982100000000"}
    assert (rows[busy[0].pk].state, rows[busy[0].pk].dial_result, rows[busy[0].pk].outcome.code) == (
        AttemptState.DONE,
        "busy",
        "busy",
    )
    assert rows[unanswered[0].pk].dial_result == "no_answer"
    talk = rows[talker[0].pk]
    assert (talk.state, talk.dial_result, talk.agent_id) == (AttemptState.WRAP_UP, "answered", agent.pk)
    assert talk.talk_seconds in (0, 1)  # 0.3 s of talk, rounded
    # busy and unanswered customers wait for their retry; every dialled attempt without a talk is an interaction
    entries = dict(CallEntry.objects.filter(campaign=campaign).values_list("customer_id", "state"))
    assert entries == {
        busy[0].pk: EntryState.QUEUED,
        unanswered[0].pk: EntryState.QUEUED,
        talker[0].pk: EntryState.ACTIVE,
    }
    assert sorted(Interaction.objects.values_list("outcome", flat=True)) == ["busy", "no_answer"]
    # The process closed its database thread's connection when it stopped.
    assert asyncio.run(sync_to_async(lambda: connection.connection is None)()) is True
    assert Agent.objects.get(pk=agent.pk).state == AgentState.WRAP_UP
    # the agent records the outcome of the talk
    services.attempt_close(actor=agent.user, attempt=talk, outcome=code(campaign, "interested"))
    assert CallEntry.objects.get(customer=talker[0], campaign=campaign).state == EntryState.DONE
    assert Agent.objects.get(pk=agent.pk).state == AgentState.READY


def test_predictive_dialer_bridges_the_answered_call_to_a_free_agent(
    roles: None, simulator: AmiSimulator
) -> None:
    agent = AgentFactory(extension="PJSIP/1001")
    customers = phone_customers(1, phone="+989121000046")
    call_campaign(customers=customers, agents=[agent], mode="predictive", trunk="PJSIP/operator")
    _ready(agent)
    process = DialerProcess(dialer=_dialer(simulator), tick_seconds=0.05)
    _run_until(process, lambda: CallAttempt.objects.filter(state=AttemptState.WRAP_UP).exists())
    attempt = CallAttempt.objects.get()
    assert (attempt.agent_id, attempt.dial_result) == (agent.pk, "answered")
    assert "redirect" in simulator.actions  # bridged after the answer, not dialled to the agent first


def test_a_dropped_ami_link_keeps_the_call_and_its_attempt_row(roles: None) -> None:
    sim = AmiSimulator(rule=last_digit_rule(ring_s=0.02, talk_s=1.5, patience_s=5.0)).start()
    try:
        agent = AgentFactory(extension="PJSIP/1001")
        customers = phone_customers(1, phone="+989121000056")
        call_campaign(customers=customers, agents=[agent], mode="progressive", trunk="PJSIP/operator")
        _ready(agent)
        process = DialerProcess(dialer=_dialer(sim), tick_seconds=0.05)
        dropped: dict[str, Any] = {}

        def talking_then_drop() -> bool:
            if not dropped and CallAttempt.objects.filter(state=AttemptState.TALKING).exists():
                sim.drop_connections()
                dropped["at"] = time.monotonic()
            return bool(dropped) and CallAttempt.objects.filter(state=AttemptState.WRAP_UP).exists()

        _run_until(process, talking_then_drop)
        attempt = CallAttempt.objects.get()
        # the call survived the drop: it ended normally after its talk, with one attempt and no second dial
        assert (attempt.state, attempt.dial_result, attempt.agent_id) == (
            AttemptState.WRAP_UP,
            "answered",
            agent.pk,
        )
        assert attempt.talk_seconds in (1, 2)
        assert len(sim.originates) == 1
        assert CallEntry.objects.get().state == EntryState.ACTIVE
    finally:
        sim.stop()


def test_a_call_lost_with_the_link_is_recorded_failed_and_retried(roles: None) -> None:
    # busy after 0.5 s of ringing: its end happens while the link is down, so its Hangup is never seen
    sim = AmiSimulator(rule=lambda number: Script("busy", ring_s=0.5)).start()
    try:
        agent = AgentFactory(extension="PJSIP/1001")
        customers = phone_customers(1, phone="+989121000068")
        campaign = call_campaign(
            customers=customers, agents=[agent], mode="progressive", trunk="PJSIP/operator"
        )
        _ready(agent)
        # the dialer reconnects after 1 s, when the call has ended unseen
        process = DialerProcess(dialer=_dialer(sim, (1.0, 1.0)), tick_seconds=0.05)
        state: dict[str, bool] = {}

        def dialling_then_drop() -> bool:
            if (
                not state
                and sim.originates
                and CallAttempt.objects.filter(state=AttemptState.DIALING).exists()
            ):
                sim.drop_connections()
                state["dropped"] = True
            return bool(state) and CallAttempt.objects.filter(state=AttemptState.DONE).exists()

        _run_until(process, dialling_then_drop)
        attempt = CallAttempt.objects.select_related("outcome").get()
        assert (attempt.outcome.code, attempt.dial_result, attempt.detail) == (
            "failed",
            "failed",
            "lost while disconnected",
        )
        entry = CallEntry.objects.get(campaign=campaign)
        assert (entry.state, entry.attempts) == (EntryState.QUEUED, 1)
        assert Agent.objects.get(pk=agent.pk).state == AgentState.READY
    finally:
        sim.stop()
