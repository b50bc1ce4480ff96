"""The dialer process (`navid dialer`): one asyncio process per site drives the `Dialer` of navid.channels.

Every tick it
1. renews the leases of the entries whose calls it follows (a dead process stops renewing them, and
   `services.stale_release` then records the attempts and puts the customers back in the queue);
2. originates the preview calls agents asked for ("Call" on the console) to the agent's extension;
3. for each running campaign in progressive or predictive mode, asks the pacing function how many calls to place
   (free agents, calls ringing, answered calls waiting, the campaign's sliding window of outcomes, its abandon
   limit), takes that many entries (one conditional UPDATE each), checks consent, do-not-contact and the call window
   in the customer's local time right before each dial, and originates through the campaign's trunk and caller ID.

Events from the dialer move the attempt rows: answered -> talking (bridged at once to the agent in progressive
mode; in predictive mode bridged to the first free agent, or abandoned by the dialer when none is free in time);
ended after a talk -> wrap-up, the agent records the outcome on the console; ended without a talk (busy, no answer,
failed, abandoned) -> the attempt is closed with the campaign's outcome code of that name, whose retry rule puts
the customer back in the queue or finishes the entry. A dropped AMI link is the dialer's to reconnect; calls it
reports lost end as failed, "lost while disconnected", and are retried like any failed call.

All database work runs in one worker thread (`sync_to_async`, thread-sensitive), never in the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from navid.campaigns.models import Campaign, State
from navid.channels.dialer import CallEvent, CallOutcome, CallRequest, Dialer, DialerUnavailable
from navid.channels.pacing import PacingStats, calls_to_place
from navid.telemarketing import services
from navid.telemarketing.models import (
    Agent,
    AgentState,
    AttemptState,
    CallAttempt,
    CallEntry,
    CallSettings,
    DialMode,
    EntryState,
    OutcomeCode,
)

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
STALE_EVERY_SECONDS = 5.0


@dataclass
class _Call:
    """A call this process placed and follows until it ends."""

    attempt_pk: int
    entry_pk: int
    campaign_id: int
    agent_id: int | None
    started: float = field(default_factory=time.monotonic)
    answered: float | None = None
    bridged: bool = False
    bridging: bool = False  # an agent is being found or bridged for it right now (one try at a time)


@dataclass
class DecisionTiming:
    """How long each pacing decision took (reading the state and computing the count), for the benchmark."""

    seconds: list[float] = field(default_factory=list)


@dataclass
class DialerProcess:
    """Places and follows the calls of every running telemarketing campaign through one `Dialer`."""

    dialer: Dialer
    tick_seconds: float = TICK_SECONDS
    # Simultaneous calls the trunk carries (settings.NAVID_DIALER_LINES); 0 = no limit.
    lines: int = 0
    calls: dict[str, _Call] = field(default_factory=dict)
    stats: dict[int, PacingStats] = field(default_factory=dict)
    timing: DecisionTiming = field(default_factory=DecisionTiming)
    on_attempt_closed: Callable[[int], None] | None = None
    _stale_checked: float = -1e9

    async def run(self, stop: asyncio.Event) -> None:
        """Start the dialer, follow its events and tick until `stop` is set; then stop the dialer."""
        await self.dialer.start()
        events = asyncio.create_task(self._follow())
        try:
            while not stop.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_seconds)
        finally:
            events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await events
            await self.dialer.stop()
            await sync_to_async(lambda: connection.close())()  # the database thread's own connection

    async def _follow(self) -> None:
        async for event in self.dialer.events():
            try:
                await self.on_event(event)
            except Exception:  # one bad event must not stop the following of every other call
                log.exception("dialer event %s could not be applied", event)

    # Ticks ---------------------------------------------------------------------------------------------------------
    async def tick(self) -> None:
        """One round: leases, preview requests, then pacing per campaign."""
        await sync_to_async(self._leases_renew)([call.entry_pk for call in self.calls.values()])
        if time.monotonic() - self._stale_checked > STALE_EVERY_SECONDS:
            self._stale_checked = time.monotonic()
            await sync_to_async(services.stale_release)()
        for request in await sync_to_async(self._preview_requests)(set(self.calls)):
            await self._originate(request)
        # Answered calls still waiting for an agent take the agents who became free before any new call is placed.
        for attempt_id, call in list(self.calls.items()):
            if call.answered is not None and not call.bridged and call.agent_id is None:
                await self._bridge_to_free_agent(attempt_id, call)  # skips a call being bridged already
        for campaign_id, mode, limit in await sync_to_async(self._paced_campaigns)():
            # A copy of the calls followed, read in the event loop: the database thread never iterates the live dict.
            calls = list(self.calls.values())
            plan = await sync_to_async(self._plan)(
                campaign_id=campaign_id, mode=mode, limit=limit, calls=calls
            )
            for request in plan:
                await self._originate(request)

    def _leases_renew(self, entry_ids: list[int]) -> None:
        if entry_ids:
            lease = timezone.now() + dt.timedelta(seconds=services.LEASE_SECONDS)
            CallEntry.objects.filter(pk__in=entry_ids, state=EntryState.ACTIVE).update(lease_until=lease)

    def _paced_campaigns(self) -> list[tuple[int, str, Decimal]]:
        return list(
            CallSettings.objects.filter(
                campaign__state=State.RUNNING, mode__in=[DialMode.PROGRESSIVE, DialMode.PREDICTIVE]
            )
            .exclude(trunk="")
            .values_list("campaign_id", "mode", "max_abandon_percent")
            .order_by("campaign_id")
            .distinct()
            .iterator()
        )

    def _free_agents(self, campaign_id: int, calls: list[_Call]) -> list[Agent]:
        """Ready agents of the campaign with an extension and no call in hand (in this process or the console)."""
        busy_here = {call.agent_id for call in calls if call.agent_id is not None}
        open_attempt = CallAttempt.objects.filter(agent=OuterRef("pk")).exclude(state=AttemptState.DONE)
        agents = (
            Agent.objects.filter(campaigns__id=campaign_id, state=AgentState.READY)
            .exclude(extension="")
            .exclude(Exists(open_attempt))
            .order_by("state_since", "pk")
        )
        return [agent for agent in agents if agent.pk not in busy_here]

    def _plan(
        self, *, campaign_id: int, mode: str, limit: Any, calls: list[_Call]
    ) -> list[tuple[CallRequest, _Call]]:
        """Decide how many calls to place for one campaign and prepare them (entries taken, attempts open)."""
        started = time.perf_counter()
        campaign = Campaign.objects.get(pk=campaign_id)
        settings_row = services.call_settings_for(campaign_id=campaign_id)
        free = self._free_agents(campaign_id, calls)
        mine = [call for call in calls if call.campaign_id == campaign_id]
        ringing = sum(1 for call in mine if call.answered is None)
        waiting = sum(
            1 for call in mine if call.answered is not None and not call.bridged and call.agent_id is None
        )
        # The trunk's lines are shared by every campaign of this process: this campaign may use those no call holds.
        line_limit = self.lines - len(calls) + ringing + waiting if self.lines else None
        count = calls_to_place(
            mode,
            free_agents=len(free),
            calls_ringing=ringing,
            answered_waiting=waiting,
            stats=self.stats.setdefault(campaign_id, PacingStats()),
            max_abandon_rate=float(limit) / 100,
            line_limit=line_limit,
        )
        # The pacing decision: reading the free agents and calls, then the pacing function.
        self.timing.seconds.append(time.perf_counter() - started)
        if count <= 0:
            return []
        requests: list[tuple[CallRequest, _Call]] = []
        if mode == DialMode.PROGRESSIVE:
            # One call per free agent, from the agent's own queue (or unassigned entries), bridged to them at once.
            for agent in free[:count]:
                for entry in services.entries_take(campaign=campaign, count=1, agent=agent):
                    prepared = self._prepare(
                        entry=entry, campaign=campaign, settings_row=settings_row, agent=agent
                    )
                    if prepared:
                        requests.append(prepared)
        else:
            for entry in services.entries_take(campaign=campaign, count=count):
                prepared = self._prepare(
                    entry=entry, campaign=campaign, settings_row=settings_row, agent=None
                )
                if prepared:
                    requests.append(prepared)
        return requests

    def _prepare(
        self, *, entry: CallEntry, campaign: Campaign, settings_row: CallSettings, agent: Agent | None
    ) -> tuple[CallRequest, _Call] | None:
        """Right before the dial: check consent, do-not-contact and the call window again; open the attempt."""
        now = timezone.now()
        reason = services.dial_check(entry=entry, goal=campaign.goal, now=now)
        if reason:
            services.entry_not_dialled(entry=entry, reason=reason)
            return None
        with transaction.atomic():
            attempt = CallAttempt.objects.create(
                entry=entry,
                campaign_id=entry.campaign_id,
                customer_id=entry.customer_id,
                agent=agent,
                state=AttemptState.DIALING,
                started_at=now,
            )
            CallEntry.objects.filter(pk=entry.pk).update(attempts=entry.attempts + 1)
            if agent is not None:
                Agent.objects.filter(pk=agent.pk).update(state=AgentState.ON_CALL, state_since=now)
        request = CallRequest(
            attempt_id=str(attempt.pk),
            phone=entry.phone,
            trunk=settings_row.trunk,
            caller_id=settings_row.caller_id,
            agent_endpoint=agent.extension if agent is not None else None,
            timeout_s=settings_row.ring_timeout_seconds,
            variables={"NAVID_CAMPAIGN": str(campaign.pk)},
        )
        return request, _Call(
            attempt_pk=attempt.pk,
            entry_pk=entry.pk,
            campaign_id=campaign.pk,
            agent_id=agent.pk if agent is not None else None,
        )

    def _preview_requests(self, followed: set[str]) -> list[tuple[CallRequest, _Call]]:
        """Attempts whose agent clicked "Call" in preview mode: dial them to the agent's extension."""
        requests = []
        for attempt in CallAttempt.objects.filter(state=AttemptState.REQUESTED).select_related(
            "entry", "agent", "campaign"
        ):
            if str(attempt.pk) in followed:
                continue
            settings_row = services.call_settings_for(campaign_id=attempt.campaign_id)
            if not CallAttempt.objects.filter(pk=attempt.pk, state=AttemptState.REQUESTED).update(
                state=AttemptState.DIALING
            ):
                continue
            requests.append(
                (
                    CallRequest(
                        attempt_id=str(attempt.pk),
                        phone=attempt.entry.phone,
                        trunk=settings_row.trunk,
                        caller_id=settings_row.caller_id,
                        agent_endpoint=attempt.agent.extension if attempt.agent else None,
                        timeout_s=settings_row.ring_timeout_seconds,
                        variables={"NAVID_CAMPAIGN": str(attempt.campaign_id)},
                    ),
                    _Call(
                        attempt_pk=attempt.pk,
                        entry_pk=attempt.entry_id,
                        campaign_id=attempt.campaign_id,
                        agent_id=attempt.agent_id,
                    ),
                )
            )
        return requests

    async def _originate(self, prepared: tuple[CallRequest, _Call]) -> None:
        request, call = prepared
        self.calls[request.attempt_id] = call
        try:
            await self.dialer.originate(request)
        except DialerUnavailable as exc:
            # Never sent: the attempt did not happen; the customer goes back to the queue, the agent is ready.
            self.calls.pop(request.attempt_id, None)
            log.warning("attempt %s not dialled: %s", request.attempt_id, exc)
            await sync_to_async(services.attempt_not_sent)(attempt_pk=call.attempt_pk, detail=str(exc))

    # Events --------------------------------------------------------------------------------------------------------
    async def on_event(self, event: CallEvent) -> None:
        """Move the attempt row with one event of the dialer."""
        call = self.calls.get(event.attempt_id)
        if call is None:
            return
        if event.state == "answered":
            call.answered = time.monotonic()
            # Counted now, not when the call ends: a late count makes the answer rate look low and over-dials.
            self.stats.setdefault(call.campaign_id, PacingStats()).record_answer(
                ring_seconds=call.answered - call.started
            )
            await sync_to_async(services.attempt_answered)(attempt_pk=call.attempt_pk, at=event.at)
            if call.agent_id is None:
                await self._bridge_to_free_agent(event.attempt_id, call)
            else:
                call.bridged = True
        elif event.state == "bridged":
            call.bridged = True
        elif event.state == "ended":
            self.calls.pop(event.attempt_id, None)
            outcome = CallOutcome(event.outcome or CallOutcome.FAILED)
            ring = (call.answered or time.monotonic()) - call.started
            self.stats.setdefault(call.campaign_id, PacingStats()).record(
                outcome,
                ring_seconds=ring,
                talk_seconds=event.talk_seconds,
                answer_counted=call.answered is not None,
            )
            await sync_to_async(services.attempt_ended)(
                attempt_pk=call.attempt_pk,
                result=outcome.value,
                at=event.at,
                talk_seconds=event.talk_seconds,
                detail=event.detail,
            )
            if self.on_attempt_closed is not None:
                self.on_attempt_closed(call.attempt_pk)

    async def _bridge_to_free_agent(self, attempt_id: str, call: _Call) -> None:
        if call.bridging or call.bridged:
            return
        call.bridging = True
        try:
            agent = await sync_to_async(self._reserve_agent)(call, list(self.calls.values()))
            if agent is None:
                return  # tried again next tick; the dialer abandons the call if no agent becomes free in time
            try:
                await self.dialer.bridge(attempt_id, agent.extension)
            except (LookupError, DialerUnavailable) as exc:
                log.warning("attempt %s not bridged to %s: %s", attempt_id, agent.extension, exc)
                await sync_to_async(services.agent_release)(agent_id=agent.pk)
                call.agent_id = None
                return
            call.bridged = True
        finally:
            call.bridging = False

    def _reserve_agent(self, call: _Call, calls: list[_Call]) -> Agent | None:
        for agent in self._free_agents(call.campaign_id, calls):
            with transaction.atomic():
                # Conditional: another process or the console may have taken the agent meanwhile.
                if Agent.objects.filter(pk=agent.pk, state=AgentState.READY).update(
                    state=AgentState.ON_CALL, state_since=timezone.now()
                ):
                    CallAttempt.objects.filter(pk=call.attempt_pk).update(
                        agent=agent, state=AttemptState.TALKING
                    )
                    call.agent_id = agent.pk
                    return agent
        return None


def dial_result_code(*, campaign_id: int, result: str) -> OutcomeCode | None:
    """The campaign's outcome code for a dial result without a talk (busy, no answer, failed, abandoned)."""
    return OutcomeCode.objects.filter(campaign_id=campaign_id, code=result).first()


def run_dialer(
    *, dialer: Dialer, stop: asyncio.Event | None = None, tick_seconds: float = TICK_SECONDS
) -> None:
    """Run the dialer process until interrupted (or `stop` is set)."""
    process = DialerProcess(dialer=dialer, tick_seconds=tick_seconds, lines=settings.NAVID_DIALER_LINES)
    asyncio.run(process.run(stop or asyncio.Event()))
