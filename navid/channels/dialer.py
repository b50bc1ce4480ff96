"""Outbound calls behind one `Dialer` interface: Asterisk over AMI (panoramisk), or the agent's own phone.

The dialer knows nothing of campaigns or agents' queues: a caller (the telemarketing dialer process) asks it to
`originate` a `CallRequest`, `bridge` an answered call to a free agent, or `hangup`; it reports every state change
of every call as a `CallEvent` (dialing, ringing, answered, bridged, ended with a `CallOutcome`) through `events()`,
and `calls_in_progress()` gives the last event of each call not ended, for pacing.

`AsteriskDialer` sends `Originate` (async) with the attempt id as ActionID, as the channel's unique id (ChannelId,
prefixed) and as the channel variable NAVID_ATTEMPT, then follows Newchannel, Newstate, DialBegin/DialEnd,
OriginateResponse, BridgeEnter and Hangup to classify each attempt. When the AMI link drops it reconnects by itself
and asks Asterisk for its channels (CoreShowChannels): calls still up keep their state (or move on to the state
Asterisk shows), calls that vanished end as failed, "lost while disconnected". See docs/dialer.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger(__name__)


class CallOutcome(models.TextChoices):
    """What became of one call attempt."""

    ANSWERED = "answered", _("answered")
    BUSY = "busy", _("busy")
    NO_ANSWER = "no_answer", _("no answer")
    FAILED = "failed", _("failed")
    ABANDONED = "abandoned", _("abandoned")  # answered, but no agent was free within the limit


CallState = Literal["dialing", "ringing", "answered", "bridged", "ended"]


@dataclass(frozen=True)
class CallRequest:
    """One call to place."""

    attempt_id: (
        str  # unique per attempt: the ActionID, the channel variable NAVID_ATTEMPT, the channel's unique id
    )
    phone: str  # E.164, e.g. "+989121234567"
    trunk: str  # "PJSIP/operator" -> "PJSIP/989121234567@operator"; or a template with {number}
    caller_id: str
    agent_endpoint: str | None  # "PJSIP/1001" or "Queue/telemarketing"; None: predictive, bridged later
    timeout_s: int = 30
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallEvent:
    """One state change of one call."""

    attempt_id: str
    state: CallState
    outcome: CallOutcome | None  # set when state == "ended"
    at: datetime  # UTC
    talk_seconds: int | None  # set when ended after an answer: seconds from the answer to the hangup
    detail: str  # the hangup cause, why it was abandoned or lost


class DialerUnavailable(Exception):
    """The dialer cannot send anything now (not connected, login refused, the exchange refused the action)."""


class DialerLoginFailed(DialerUnavailable):
    """The exchange refused the dialer's username or secret."""


class _SentUnanswered(DialerUnavailable):
    """The action was written but its response never came (the link dropped or the exchange was silent)."""


class CallNotInProgress(LookupError):
    """No call in progress has this attempt id (never placed, or already ended), or it cannot take the action."""


class Dialer(Protocol):
    """Places calls and reports what becomes of them."""

    async def start(self) -> None:
        """Connect (and log in); reconnect by itself when the link drops."""
        ...

    async def stop(self) -> None: ...

    async def originate(self, request: CallRequest) -> None:
        """Start a call; raises DialerUnavailable if it cannot be sent."""
        ...

    async def bridge(self, attempt_id: str, agent_endpoint: str) -> None:
        """Connect an answered call to a free agent."""
        ...

    async def hangup(self, attempt_id: str) -> None: ...

    def events(self) -> AsyncIterator[CallEvent]:
        """Every state change of every call, in order, from the moment of this call."""
        ...

    def calls_in_progress(self) -> Mapping[str, CallEvent]:
        """attempt_id -> last event, for the calls not ended."""
        ...


# Hangup causes (Q.850, as Asterisk reports them) that decide the outcome of a call that was not answered.
BUSY_CAUSES = frozenset({17})
NO_ANSWER_CAUSES = frozenset({18, 19, 20})
NORMAL_CAUSES = frozenset({16, 31})
DIAL_STATUS_OUTCOMES = {
    "BUSY": CallOutcome.BUSY,
    "NOANSWER": CallOutcome.NO_ANSWER,
    "CANCEL": CallOutcome.NO_ANSWER,
    "CHANUNAVAIL": CallOutcome.FAILED,
    "CONGESTION": CallOutcome.FAILED,
}
# OriginateResponse Reason: the last control frame (1 hung up, 3 ringing, 4 answered, 5 busy, 8 congestion).
REASON_OUTCOMES = {1: CallOutcome.NO_ANSWER, 3: CallOutcome.NO_ANSWER, 5: CallOutcome.BUSY}
LOST_DETAIL = "lost while disconnected"


def classify(
    *,
    answered: bool,
    bridged: bool,
    hangup_by_dialer: bool,
    cause: int | None,
    dial_status: str,
    reason: int | None,
) -> CallOutcome:
    """The outcome of an ended call from what was seen of it."""
    if bridged:
        return CallOutcome.ANSWERED
    if answered:
        return CallOutcome.ABANDONED
    if hangup_by_dialer:
        return CallOutcome.NO_ANSWER
    if cause in BUSY_CAUSES:
        return CallOutcome.BUSY
    if cause in NO_ANSWER_CAUSES:
        return CallOutcome.NO_ANSWER
    if dial_status in DIAL_STATUS_OUTCOMES:
        return DIAL_STATUS_OUTCOMES[dial_status]
    if reason in REASON_OUTCOMES:
        return REASON_OUTCOMES[reason]
    if cause in NORMAL_CAUSES:
        return CallOutcome.NO_ANSWER  # cleared while ringing
    return CallOutcome.FAILED


def dial_string(trunk: str, phone: str) -> str:
    """The Originate Channel for a number: "PJSIP/operator" -> "PJSIP/989121234567@operator"; a trunk with
    "{number}" is a template ("SIP/operator/00{number}")."""
    digits = re.sub(r"\D", "", phone)
    if not digits:
        raise ValueError(f"phone number {phone!r} has no digits")
    if "{number}" in trunk:
        return trunk.replace("{number}", digits)
    tech, _, rest = trunk.partition("/")
    if not tech or not rest:
        raise ValueError(f"trunk {trunk!r} must look like TECH/name (e.g. PJSIP/operator)")
    return f"{tech}/{digits}@{rest}"


def channel_id(attempt_id: str) -> str:
    """The unique id the exchange gives the call's channel (Originate ChannelId)."""
    return "navid-" + re.sub(r"[^A-Za-z0-9_.-]", "_", attempt_id)


def _now() -> datetime:
    return datetime.now(UTC)


class _Subscription:
    """One reader of `events()`: its own queue, filled from the moment it was created."""

    def __init__(self, owner: _EventSource) -> None:
        self.owner = owner
        self.queue: asyncio.Queue[CallEvent | None] = asyncio.Queue()
        owner._subscribers.append(self)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> CallEvent:
        item = await self.queue.get()
        if item is None:
            with contextlib.suppress(ValueError):
                self.owner._subscribers.remove(self)
            raise StopAsyncIteration
        return item


class _EventSource:
    """Keeps the last event of each call in progress and hands every event to each subscriber."""

    def __init__(self) -> None:
        self._subscribers: list[_Subscription] = []
        self._in_progress: dict[str, CallEvent] = {}

    def events(self) -> AsyncIterator[CallEvent]:
        return _Subscription(self)

    def calls_in_progress(self) -> Mapping[str, CallEvent]:
        return MappingProxyType(dict(self._in_progress))

    def _publish(self, event: CallEvent) -> None:
        if event.state == "ended":
            self._in_progress.pop(event.attempt_id, None)
        else:
            self._in_progress[event.attempt_id] = event
        for subscriber in self._subscribers:
            subscriber.queue.put_nowait(event)

    def _close_subscriptions(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.queue.put_nowait(None)


@dataclass
class _Call:
    request: CallRequest
    uniqueid: str
    started: datetime
    channel: str = ""
    state: CallState = "dialing"
    answered_at: datetime | None = None
    bridged: bool = False
    dial_status: str = ""
    reason: int | None = None
    hangup_by_dialer: bool = False
    abandon_due: bool = False
    announced: bool = False  # its "dialing" event is out
    timer: asyncio.TimerHandle | None = None
    linked: set[str] = field(default_factory=set)


class _Protocol(AMIProtocol):
    """panoramisk's protocol, attached to the dialer's manager from its first byte."""

    def __init__(self, link: _Link) -> None:
        super().__init__()
        self.link = link

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self.link
        self.log = self.link.log
        self.config = self.link.config
        self.encoding = "utf8"


class _Link(Manager):
    """panoramisk's Manager, with the connection, login, keep-alive and reconnection left to the dialer: nothing
    is sent again by itself after a reconnection (an Originate sent twice would call a customer twice)."""

    def __init__(self, dialer: AsteriskDialer, **config: Any) -> None:
        super().__init__(**config)
        self.dialer = dialer
        self.lost: asyncio.Future[None] | None = None

    def attach(self, protocol: _Protocol) -> None:
        self.protocol = protocol
        self.responses = protocol.responses
        self._connected = True
        self.lost = asyncio.get_running_loop().create_future()

    async def send_awaiting_actions(self, *_: Any) -> None:
        self.awaiting_actions.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        self.awaiting_actions.clear()
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)
        self.dialer._link_lost(exc)


class AsteriskDialer(_EventSource):
    """The Dialer on Asterisk, over AMI with panoramisk. Use inside one asyncio event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        context: str = "navid-dialer",
        *,
        exten: str = "s",
        abandon_after_s: float = 2.0,
        connect_timeout_s: float = 5.0,
        action_timeout_s: float = 5.0,
        reconnect_delays_s: tuple[float, float] = (0.05, 5.0),
        ping_interval_s: float = 10.0,
        originate_grace_s: float = 2.0,
        stale_after_s: float = 30.0,
    ) -> None:
        super().__init__()
        self.host, self.port, self.username, self.secret = host, int(port), username, secret
        self.context, self.exten = context, exten
        self.abandon_after_s = abandon_after_s
        self.connect_timeout_s, self.action_timeout_s = connect_timeout_s, action_timeout_s
        self.reconnect_delays_s, self.ping_interval_s = reconnect_delays_s, ping_interval_s
        self.originate_grace_s, self.stale_after_s = originate_grace_s, stale_after_s
        self._link: _Link | None = None
        self._calls: dict[str, _Call] = {}
        self._by_uniqueid: dict[str, str] = {}  # channel unique id (ours and the agent legs') -> attempt id
        self._connected = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._disconnected_at: datetime | None = None
        self.reconnections = 0
        self.last_error = ""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AsteriskDialer:
        """From `ami://user:secret@host:5038?context=navid-dialer` (NAVID_AMI_URL)."""
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise ValueError(f"AMI address {url!r} must look like ami://user:secret@host:5038")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if "context" in query:
            options.setdefault("context", query["context"])
        return cls(
            parts.hostname,
            parts.port or 5038,
            unquote(parts.username),
            unquote(parts.password or ""),
            **options,
        )

    @property
    def connected(self) -> bool:
        return self._connected

    # Connection -----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect and log in (DialerUnavailable / DialerLoginFailed if that fails), then keep the link up."""
        self._stopping = False
        await self._connect()
        self._tasks = [
            asyncio.create_task(self._supervise(), name="ami-supervise"),
            asyncio.create_task(self._keepalive(), name="ami-keepalive"),
        ]

    async def stop(self) -> None:
        """Log off and close; the calls in progress go on in the exchange. Ends every `events()` iterator."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for call in self._calls.values():
            if call.timer is not None:
                call.timer.cancel()
        link, self._link = self._link, None
        if link is not None and self._connected:
            self._connected = False
            with contextlib.suppress(DialerUnavailable):
                await self._send({"Action": "Logoff"}, link=link)
        if link is not None:
            link.close()
        self._connected = False
        self._close_subscriptions()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        link = _Link(self, host=self.host, port=self.port, loop=loop, ping_delay=3600, forgetable_actions=())
        link.register_event("*", self._on_event)
        where = f"{self.host}:{self.port}"
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Protocol(link), self.host, self.port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise DialerUnavailable(f"cannot connect to the Asterisk manager at {where}: {exc}") from exc
        link.attach(protocol)
        try:
            response = await self._send(
                {"Action": "Login", "Username": self.username, "Secret": self.secret, "Events": "on"},
                link=link,
            )
        except DialerUnavailable:
            link.close()
            raise
        if not response.success:
            link.close()
            raise DialerLoginFailed(
                f"the Asterisk manager at {where} refused the login of {self.username!r}: "
                f"{response.message or response.response}"
            )
        self._link = link
        self._connected = True
        self.last_error = ""

    def _link_lost(self, exc: Exception | None) -> None:
        if self._stopping:
            return
        if self._connected:
            self._disconnected_at = _now()
            log.warning("AMI link to %s:%s lost: %s", self.host, self.port, exc)
        self._connected = False

    async def _supervise(self) -> None:
        """Wait for the link to drop, reconnect with growing delays, then reconcile the calls in progress."""
        while not self._stopping:
            link = self._link
            if link is not None and link.lost is not None:
                await asyncio.shield(link.lost)
            self._connected = False
            delay, longest = self.reconnect_delays_s
            while not self._stopping:
                await asyncio.sleep(delay)
                try:
                    await self._connect()
                except DialerUnavailable as exc:
                    self.last_error = str(exc)
                    log.warning("AMI reconnection failed: %s", exc)
                    delay = min(delay * 2, longest)
                    continue
                break
            self.reconnections += 1
            try:
                await self._reconcile(LOST_DETAIL)
            except DialerUnavailable as exc:  # the link dropped again while listing: the loop starts over
                self.last_error = str(exc)
                log.warning("AMI reconciliation failed: %s", exc)

    async def _keepalive(self) -> None:
        """Ping the exchange; a link that stops answering is closed, so that the supervisor reconnects. Calls that
        stay unanswered too long (no Hangup ever came) are checked against the exchange's channels."""
        while not self._stopping:
            await asyncio.sleep(self.ping_interval_s)
            link = self._link
            if not self._connected or link is None:
                continue
            try:
                await self._send({"Action": "Ping"}, link=link)
            except DialerUnavailable:
                if link.protocol is not None and link.protocol.transport is not None:
                    link.protocol.transport.abort()  # connection_lost follows, then the supervisor reconnects
                continue
            now = _now()
            stale = {
                attempt
                for attempt, call in self._calls.items()
                if call.answered_at is None
                and (now - call.started).total_seconds() > call.request.timeout_s + self.stale_after_s
            }
            if stale:
                try:
                    await self._reconcile("vanished without a hangup event", only=stale, link_was_down=False)
                except (
                    DialerUnavailable
                ) as exc:  # the link is failing: the supervisor reconnects and reconciles
                    log.warning("stale calls not checked: %s", exc)

    async def _send(self, action: dict[str, Any], *, link: _Link | None = None) -> Message:
        """Send one action and wait for its response (a list for list actions)."""
        link = link or self._link
        if link is None or link.protocol is None or link.lost is None or link.lost.done():
            raise DialerUnavailable(f"the AMI link to {self.host}:{self.port} is down")
        future = link.send_action(action, as_list=action.pop("_as_list", False))
        done, _pending = await asyncio.wait(
            {future, link.lost}, timeout=self.action_timeout_s, return_when="FIRST_COMPLETED"
        )
        if future in done:
            return future.result()
        future.cancel()
        if link.lost in done:
            raise _SentUnanswered(
                f"the AMI link to {self.host}:{self.port} dropped during {action['Action']}"
            )
        raise _SentUnanswered(f"no answer from {self.host}:{self.port} to {action['Action']} in time")

    # Actions --------------------------------------------------------------------------------------------------
    async def originate(self, request: CallRequest) -> None:
        """Send an async Originate; the call's events follow. DialerUnavailable when it cannot be sent (the link
        is down, or the exchange refused it). An Originate written but not answered because the link dropped counts
        as sent: the call is followed and settled by the reconciliation, so that the customer is never called twice.
        """
        if request.attempt_id in self._calls:
            raise ValueError(f"attempt {request.attempt_id} is already in progress")
        if not self._connected:
            raise DialerUnavailable(f"the AMI link to {self.host}:{self.port} is down")
        uniqueid = channel_id(request.attempt_id)
        variables = {
            **request.variables,
            "NAVID_ATTEMPT": request.attempt_id,
            "NAVID_AGENT": request.agent_endpoint or "",
        }
        action = {
            "Action": "Originate",
            "ActionID": request.attempt_id,
            "Channel": dial_string(request.trunk, request.phone),
            "Context": self.context,
            "Exten": self.exten,
            "Priority": "1",
            "Timeout": str(int(request.timeout_s * 1000)),
            "CallerID": request.caller_id,
            "Async": "true",
            "ChannelId": uniqueid,
            "Variable": [f"{key}={value}" for key, value in variables.items()],
        }
        call = _Call(request=request, uniqueid=uniqueid, started=_now())
        # Registered before sending: the exchange's first events may come before the response.
        self._calls[request.attempt_id] = call
        self._by_uniqueid[uniqueid] = request.attempt_id
        try:
            response = await self._send(action)
        except _SentUnanswered as exc:
            # The exchange may have queued it: keep following the call rather than let the caller dial again.
            # The reconciliation after the reconnection (or the stale check) ends it if no channel exists.
            log.warning("Originate %s sent without an answer, followed anyway: %s", request.attempt_id, exc)
            self._emit(call, "dialing")
            return
        except DialerUnavailable:
            self._forget(call)
            raise
        if not response.success:
            self._forget(call)
            raise DialerUnavailable(
                f"Asterisk refused the Originate for {request.attempt_id}: {response.message}"
            )
        self._emit(call, "dialing")

    def _forget(self, call: _Call) -> None:
        self._calls.pop(call.request.attempt_id, None)
        self._by_uniqueid.pop(call.uniqueid, None)

    def _call(self, attempt_id: str) -> _Call:
        call = self._calls.get(attempt_id)
        if call is None or call.state == "ended":
            raise CallNotInProgress(f"no call in progress for attempt {attempt_id}")
        return call

    async def bridge(self, attempt_id: str, agent_endpoint: str) -> None:
        """Send an answered call, waiting for an agent, to `agent_endpoint` (Setvar NAVID_AGENT, then Redirect into
        the dialler's context, which dials it)."""
        call = self._call(attempt_id)
        if call.answered_at is None or call.bridged:
            raise CallNotInProgress(
                f"attempt {attempt_id} is {call.state}, not answered and waiting for an agent"
            )
        if call.timer is not None:  # an agent is on the way: no abandon while connecting
            call.timer.cancel()
            call.timer = None
        target = call.channel or call.uniqueid
        response = await self._send(
            {"Action": "Setvar", "Channel": target, "Variable": "NAVID_AGENT", "Value": agent_endpoint}
        )
        if response.success:
            response = await self._send(
                {
                    "Action": "Redirect",
                    "Channel": target,
                    "Context": self.context,
                    "Exten": self.exten,
                    "Priority": "1",
                }
            )
        if not response.success:
            raise CallNotInProgress(f"Asterisk could not bridge attempt {attempt_id}: {response.message}")

    async def hangup(self, attempt_id: str) -> None:
        """Hang the call up; its Hangup event ends it."""
        call = self._call(attempt_id)
        call.hangup_by_dialer = True
        response = await self._send(
            {"Action": "Hangup", "Channel": call.channel or call.uniqueid, "Cause": "16"}
        )
        if not response.success:
            raise CallNotInProgress(f"Asterisk could not hang up attempt {attempt_id}: {response.message}")

    def _abandon(self, attempt_id: str) -> None:
        """No agent took the answered call within `abandon_after_s`: hang it up (it ends as abandoned)."""
        call = self._calls.get(attempt_id)
        if call is None or call.bridged or call.state == "ended":
            return
        call.timer = None
        call.abandon_due = True
        if self._connected:
            asyncio.get_running_loop().create_task(self._hangup_abandoned(call))

    async def _hangup_abandoned(self, call: _Call) -> None:
        try:
            await self._send({"Action": "Hangup", "Channel": call.channel or call.uniqueid, "Cause": "16"})
        except DialerUnavailable as exc:  # reconciliation hangs it up after the reconnection
            log.warning("abandoned call %s not hung up yet: %s", call.request.attempt_id, exc)

    # Events ---------------------------------------------------------------------------------------------------
    def _emit(
        self,
        call: _Call,
        state: CallState,
        *,
        outcome: CallOutcome | None = None,
        detail: str = "",
        at: datetime | None = None,
        talk_end: datetime | None = None,
    ) -> None:
        if not call.announced:
            call.announced = True
            if state != "dialing":
                self._emit(call, "dialing")
        elif state == "dialing":
            return
        at = at or _now()
        talk_seconds = None
        if state == "ended" and call.answered_at is not None:
            talk_seconds = max(0, round(((talk_end or at) - call.answered_at).total_seconds()))
        call.state = state
        event = CallEvent(
            attempt_id=call.request.attempt_id,
            state=state,
            outcome=outcome,
            at=at,
            talk_seconds=talk_seconds,
            detail=detail,
        )
        if state == "ended":
            if call.timer is not None:
                call.timer.cancel()
            self._calls.pop(call.request.attempt_id, None)
            for uniqueid in {call.uniqueid, *call.linked}:
                self._by_uniqueid.pop(uniqueid, None)
        self._publish(event)

    def _answered(self, call: _Call) -> None:
        if call.answered_at is not None:
            return
        if call.state == "dialing":
            self._emit(call, "ringing")
        call.answered_at = _now()
        self._emit(call, "answered", at=call.answered_at)
        if call.request.agent_endpoint is None and not call.bridged:
            call.timer = asyncio.get_running_loop().call_later(
                self.abandon_after_s, self._abandon, call.request.attempt_id
            )

    def _end(self, call: _Call, *, cause: int | None, cause_text: str, detail: str = "") -> None:
        outcome = classify(
            answered=call.answered_at is not None,
            bridged=call.bridged,
            hangup_by_dialer=call.hangup_by_dialer,
            cause=cause,
            dial_status=call.dial_status,
            reason=call.reason,
        )
        if not detail:
            parts = []
            if call.abandon_due:
                parts.append(f"no agent free within {self.abandon_after_s:g} s")
            elif call.hangup_by_dialer:
                parts.append("hung up by the dialer")
            if cause is not None:
                parts.append(f"cause {cause} {cause_text}".strip())
            if call.dial_status:
                parts.append(f"dial status {call.dial_status}")
            if cause is None and call.reason is not None:
                parts.append(f"originate reason {call.reason}")
            detail = ", ".join(parts)
        self._emit(call, "ended", outcome=outcome, detail=detail)

    def _find(self, message: Message) -> _Call | None:
        for key in ("uniqueid", "destuniqueid"):
            attempt = self._by_uniqueid.get(message.get(key, ""))
            if attempt is not None:
                return self._calls.get(attempt)
        for key in ("chanvariable", "destchanvariable"):
            values = message.get(key)
            for value in values if isinstance(values, list) else [values] if values else []:
                name, _, attempt = value.partition("=")
                if name == "NAVID_ATTEMPT" and attempt in self._calls:
                    return self._calls[attempt]
        attempt = self._by_uniqueid.get(message.get("linkedid", ""))
        if attempt is not None:
            return self._calls.get(attempt)
        return None

    def _on_event(self, _link: Manager, message: Message) -> None:
        name = str(message.get("event", "")).lower()
        if name == "originateresponse":
            call = self._calls.get(message.get("actionid", "")) or self._find(message)
            if call is not None:
                self._on_originate_response(call, message)
            return
        call = self._find(message)
        if call is None:
            return
        uniqueid = message.get("uniqueid", "")
        is_customer = uniqueid == call.uniqueid
        if name == "newchannel":
            if is_customer:
                call.channel = message.get("channel", "")
            elif not call.channel and uniqueid and message.get("linkedid", "") == uniqueid:
                # Found by NAVID_ATTEMPT: an exchange that ignored ChannelId gave the call its own unique id.
                call.channel, call.uniqueid = message.get("channel", ""), uniqueid
                self._by_uniqueid[uniqueid] = call.request.attempt_id
            elif uniqueid:
                call.linked.add(uniqueid)
                self._by_uniqueid[uniqueid] = call.request.attempt_id
        elif name == "newstate" and is_customer:
            state = str(message.get("channelstate", ""))
            if state == "5" and call.state == "dialing":
                self._emit(call, "ringing")
            elif state == "6":
                self._answered(call)
        elif name == "dialstate" and message.get("destuniqueid") == call.uniqueid:
            if message.get("dialstatus") == "RINGING" and call.state == "dialing":
                self._emit(call, "ringing")
        elif name == "dialend" and message.get("destuniqueid") == call.uniqueid:
            call.dial_status = str(message.get("dialstatus", ""))
            if call.dial_status == "ANSWER":
                self._answered(call)
        elif name == "bridgeenter":
            count = int(message.get("bridgenumchannels", "0") or 0)
            if count >= 2 and call.answered_at is not None and not call.bridged:
                call.bridged = True
                if call.timer is not None:
                    call.timer.cancel()
                    call.timer = None
                self._emit(call, "bridged")
        elif name == "hangup" and is_customer:
            cause_value = str(message.get("cause", ""))
            cause = int(cause_value) if cause_value.isdigit() else None
            self._end(call, cause=cause, cause_text=str(message.get("cause-txt", "")))

    def _on_originate_response(self, call: _Call, message: Message) -> None:
        reason_value = str(message.get("reason", ""))
        call.reason = int(reason_value) if reason_value.isdigit() else None
        if str(message.get("response", "")).lower() == "success":
            if not call.channel:
                call.channel = message.get("channel", "")
            self._answered(call)
            return
        if call.channel:  # the Hangup, with its cause, usually follows: give it a moment
            call.timer = asyncio.get_running_loop().call_later(
                self.originate_grace_s, self._end_after_failure, call.request.attempt_id
            )
        else:
            self._end(call, cause=None, cause_text="")

    def _end_after_failure(self, attempt_id: str) -> None:
        call = self._calls.get(attempt_id)
        if call is not None and call.state != "ended":
            call.timer = None
            self._end(call, cause=None, cause_text="")

    # Reconciliation -------------------------------------------------------------------------------------------
    async def _reconcile(
        self, detail: str, *, only: set[str] | None = None, link_was_down: bool = True
    ) -> None:
        """Compare the calls in progress with the exchange's channels: those still up move on to the state the
        exchange shows; those gone end (answered if they had been bridged, otherwise failed with `detail`)."""
        if not self._calls:
            return
        responses = await self._send({"Action": "CoreShowChannels", "_as_list": True})
        listed = [m for m in (responses if isinstance(responses, list) else [responses]) if m.get("event")]
        by_uniqueid = {m.get("uniqueid", ""): m for m in listed if m.get("event") == "CoreShowChannel"}
        by_name = {m.get("channel", ""): m for m in listed if m.get("event") == "CoreShowChannel"}
        lost_at = self._disconnected_at
        for attempt, call in list(self._calls.items()):
            if call.state == "ended" or (only is not None and attempt not in only):
                continue
            entry = by_uniqueid.get(call.uniqueid) or by_name.get(call.channel)
            if entry is not None:
                call.channel = call.channel or entry.get("channel", "")
                if str(entry.get("channelstate", "")) == "6" and call.answered_at is None:
                    self._answered(call)
                if entry.get("bridgeid") and call.answered_at is not None and not call.bridged:
                    call.bridged = True
                    if call.timer is not None:
                        call.timer.cancel()
                        call.timer = None
                    self._emit(call, "bridged")
                if call.abandon_due and not call.bridged:
                    await self._hangup_abandoned(call)
                continue
            if call.bridged and link_was_down:
                self._emit(
                    call,
                    "ended",
                    outcome=CallOutcome.ANSWERED,
                    detail="ended while the AMI link was down; talk time counted to the moment it dropped",
                    talk_end=lost_at,
                )
            elif call.bridged:
                self._emit(call, "ended", outcome=CallOutcome.ANSWERED, detail=detail)
            else:
                self._emit(call, "ended", outcome=CallOutcome.FAILED, detail=detail)


class ConsoleDialer(_EventSource):
    """The Dialer without telephony: the agent dials on her own phone (preview mode) and says what happened.

    `originate` reports "dialing"; the agent's console then calls `answered` (the customer picked up: answered and
    bridged, the agent is on the line herself) and `finished` (or `hangup`) with the outcome.
    """

    def __init__(self) -> None:
        super().__init__()
        self._calls: dict[str, tuple[CallRequest, datetime | None]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._close_subscriptions()

    def _event(self, attempt_id: str, state: CallState, **fields: Any) -> CallEvent:
        fields.setdefault("outcome", None)
        fields.setdefault("talk_seconds", None)
        fields.setdefault("detail", "")
        return CallEvent(attempt_id=attempt_id, state=state, at=_now(), **fields)

    async def originate(self, request: CallRequest) -> None:
        if request.attempt_id in self._calls:
            raise ValueError(f"attempt {request.attempt_id} is already in progress")
        self._calls[request.attempt_id] = (request, None)
        self._publish(self._event(request.attempt_id, "dialing"))

    def answered(self, attempt_id: str) -> None:
        """The customer answered the agent's own phone."""
        request, answered_at = self._get(attempt_id)
        if answered_at is not None:
            raise CallNotInProgress(f"attempt {attempt_id} is already answered")
        event = self._event(attempt_id, "answered")
        self._calls[attempt_id] = (request, event.at)
        self._publish(event)
        self._publish(self._event(attempt_id, "bridged"))

    def finished(self, attempt_id: str, outcome: CallOutcome, detail: str = "") -> None:
        """The agent says how the call ended."""
        _, answered_at = self._get(attempt_id)
        outcome = CallOutcome(outcome)
        if (answered_at is None) != (outcome not in (CallOutcome.ANSWERED, CallOutcome.ABANDONED)):
            raise ValueError(
                f"outcome {outcome} does not fit a call that was {'not ' * (answered_at is None)}answered"
            )
        at = _now()
        talk = None if answered_at is None else max(0, round((at - answered_at).total_seconds()))
        del self._calls[attempt_id]
        self._publish(
            CallEvent(
                attempt_id=attempt_id, state="ended", outcome=outcome, at=at, talk_seconds=talk, detail=detail
            )
        )

    def _get(self, attempt_id: str) -> tuple[CallRequest, datetime | None]:
        if attempt_id not in self._calls:
            raise CallNotInProgress(f"no call in progress for attempt {attempt_id}")
        return self._calls[attempt_id]

    async def bridge(self, attempt_id: str, agent_endpoint: str) -> None:
        raise CallNotInProgress("a call on the agent's own phone is with the agent already")

    async def hangup(self, attempt_id: str) -> None:
        _, answered_at = self._get(attempt_id)
        self.finished(
            attempt_id,
            CallOutcome.NO_ANSWER if answered_at is None else CallOutcome.ANSWERED,
            "hung up by the agent",
        )


def dialer_from_settings() -> Dialer:
    """The dialer the settings name: Asterisk when NAVID_AMI_URL is set, otherwise the agent's own phone.

    Reads settings.NAVID_AMI_URL, NAVID_AMI_CONTEXT (default "navid-dialer") and NAVID_ABANDON_AFTER_SECONDS
    (default 2); see docs/dialer.md.
    """
    url = getattr(settings, "NAVID_AMI_URL", "")
    if not url:
        return ConsoleDialer()
    return AsteriskDialer.from_url(
        url,
        context=getattr(settings, "NAVID_AMI_CONTEXT", "") or "navid-dialer",
        abandon_after_s=float(getattr(settings, "NAVID_ABANDON_AFTER_SECONDS", 2.0)),
    )
