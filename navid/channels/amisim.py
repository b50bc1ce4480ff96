"""An Asterisk Manager Interface (AMI) server on 127.0.0.1 that simulates outbound calls, for tests and the demo.

It speaks the AMI wire protocol over TCP as Asterisk 13+ does (banner `Asterisk Call Manager/5.0.2`, messages of
`Key: Value` lines ended by an empty line, `ActionID` echoed): Login, Logoff, Ping, Originate (async: "Originate
successfully queued", then OriginateResponse), Hangup, Redirect, Setvar, Getvar, Bridge, CoreShowChannels and Status
with their list events. Every call sends the events a real exchange sends: Newchannel, DialBegin, Newstate,
DialEnd (ANSWER / BUSY / NOANSWER / CHANUNAVAIL / CANCEL), OriginateResponse (Reason 4 answered, 5 busy, 3 no answer,
8 congestion, 1 hung up), BridgeEnter / BridgeLeave, Hangup with Cause and Cause-txt.

How a number behaves is a `Script` chosen by a rule (the last digit of the number, or a seeded random mix). The
answered customer runs the dialler's context: with `NAVID_AGENT` set it is dialled and bridged at once, otherwise
the customer waits (music on hold) until a Redirect with `NAVID_AGENT` set, a Hangup, or their patience ends.

    python -m navid.channels.amisim --port 5038 --username navid --secret secret --answered 0.3

Not for production: it places no real call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

BANNER = "Asterisk Call Manager/5.0.2\r\n"
EOL = "\r\n"

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    28: "Invalid number format",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
}
STATE_TEXT = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

ScriptKind = Literal["answer", "busy", "no_answer", "failed", "ring"]


@dataclass(frozen=True)
class Script:
    """What one called number does.

    answer: rings `ring_s`, answers, talks `talk_s` once bridged to an agent, then hangs up (cause 16); waiting
    unbridged it hangs up after `patience_s`. busy: rings `ring_s`, then busy (17). no_answer: rings `ring_s`, then
    the network gives up (cause 19). ring: rings until the Originate's Timeout. failed: after `ring_s` the channel is
    unavailable with `cause` (34 by default).
    """

    kind: ScriptKind
    ring_s: float = 0.02
    talk_s: float = 0.05
    patience_s: float = 5.0
    cause: int = 34


Rule = Callable[[str], Script]


def last_digit_rule(*, ring_s: float = 0.02, talk_s: float = 0.05, patience_s: float = 5.0) -> Rule:
    """The tests' rule, by the number's last digit: 1 busy, 2 no answer, 3 failed (34), 4 unallocated (1),
    5 rings until the timeout, anything else answers."""

    def rule(number: str) -> Script:
        digit = number[-1:] or "0"
        if digit == "1":
            return Script("busy", ring_s=ring_s)
        if digit == "2":
            return Script("no_answer", ring_s=ring_s)
        if digit == "3":
            return Script("failed", ring_s=ring_s, cause=34)
        if digit == "4":
            return Script("failed", ring_s=ring_s / 2, cause=1)
        if digit == "5":
            return Script("ring", ring_s=ring_s)
        return Script("answer", ring_s=ring_s, talk_s=talk_s, patience_s=patience_s)

    return rule


def mix_rule(
    *,
    seed: int = 1,
    answered: float = 0.3,
    busy: float = 0.2,
    no_answer: float = 0.3,
    ring_s: tuple[float, float] = (1.0, 3.0),
    talk_s: tuple[float, float] = (2.0, 5.0),
    patience_s: float = 8.0,
) -> Rule:
    """A seeded random mix: each number gets the same script every time (its draw depends on the number and the
    seed only). The rest of the rates (1 - answered - busy - no_answer) fail with cause 34 or 38."""
    if answered + busy + no_answer > 1:
        raise ValueError("the rates of answered, busy and no answer add up to more than 1")

    def rule(number: str) -> Script:
        digest = hashlib.blake2b(f"{seed}:{number}".encode(), digest_size=8).digest()
        draw = random.Random(int.from_bytes(digest, "big"))
        pick, ring, talk = draw.random(), draw.uniform(*ring_s), draw.uniform(*talk_s)
        if pick < answered:
            return Script("answer", ring_s=ring, talk_s=talk, patience_s=patience_s)
        if pick < answered + busy:
            return Script("busy", ring_s=ring / 2)
        if pick < answered + busy + no_answer:
            return Script("no_answer", ring_s=ring * 2)
        return Script("failed", ring_s=0.2, cause=draw.choice((34, 38)))

    return rule


@dataclass
class Channel:
    """A live channel of the simulated exchange."""

    name: str
    uniqueid: str
    linkedid: str
    number: str
    state: int = 0
    context: str = ""
    exten: str = "s"
    priority: int = 1
    caller_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    application: str = ""
    bridge_id: str = ""
    peer: Channel | None = None
    call: Call | None = None


@dataclass
class Call:
    """One originated call and its timers."""

    action_id: str
    session: Session | None
    channel: Channel
    script: Script
    timeout_s: float
    is_async: bool
    answered: bool = False
    ended: bool = False
    dial_status: str = ""
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class Session:
    """One AMI client connection."""

    def __init__(
        self, server: AmiSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.authenticated = False
        self.events = False
        self.username = ""

    def send(self, fields: list[tuple[str, str]] | dict[str, str]) -> None:
        items = fields.items() if isinstance(fields, dict) else fields
        if self.writer.is_closing() or self.server._muted:
            return
        self.writer.write(("".join(f"{k}: {v}{EOL}" for k, v in items) + EOL).encode())

    def respond(self, action_id: str, response: str, message: str = "", **extra: str) -> None:
        fields = [("Response", response)]
        if action_id:
            fields.append(("ActionID", action_id))
        fields.extend(extra.items())
        if message:
            fields.append(("Message", message))
        self.send(fields)

    async def run(self) -> None:
        self.writer.write(BANNER.encode())
        try:
            while True:
                action = await self._read_action()
                if action is None:
                    return
                if not self.server.handle(self, action):
                    return
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.server.sessions.discard(self)
            self.writer.close()

    async def _read_action(self) -> list[tuple[str, str]] | None:
        fields: list[tuple[str, str]] = []
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if fields:
                    return fields
                continue
            key, _, value = text.partition(":")
            fields.append((key.strip(), value.strip()))


class AmiSimulator:
    """The AMI server. Runs on its own event loop in a thread (`start()`), or inside a running loop (`serve()`)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "navid",
        secret: str = "secret",  # noqa: S107 (the simulator's own)
        rule: Rule | None = None,
        agent_answer_s: float = 0.0,
        channelvars: tuple[str, ...] = ("NAVID_ATTEMPT",),
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.rule: Rule = rule or last_digit_rule()
        self.agent_answer_s = agent_answer_s
        self.channelvars = channelvars
        self.sessions: set[Session] = set()
        self.channels: dict[str, Channel] = {}  # name -> live channel
        self.originates: list[dict[str, str]] = []  # every Originate received, for tests
        self.logins: list[tuple[str, bool]] = []
        self.actions: list[str] = []
        self._sequence = itertools.count(1)
        self._bridges = itertools.count(1)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        # Set by tests: the next Originate is carried out but its response lost, as the link drops at once.
        self.drop_on_next_originate = False
        self._muted = False

    # Running ------------------------------------------------------------------------------------------------
    async def serve(self) -> None:
        """Listen; returns once listening (the server runs until `close`)."""
        self.loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        await session.run()

    def start(self) -> AmiSimulator:
        """Run in a daemon thread with its own event loop; returns when it listens."""

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.serve())
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="amisim", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the AMI simulator did not start")
        return self

    def stop(self) -> None:
        """Close every connection and stop the thread started by `start()`."""
        if self.loop is None:
            return
        loop = self.loop
        asyncio.run_coroutine_threadsafe(self.close(), loop).result(10)
        if self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for call_channel in list(self.channels.values()):
            if call_channel.call is not None:
                for timer in call_channel.call.timers:
                    timer.cancel()
        self._drop()
        if self._server is not None:
            await self._server.wait_closed()

    def _drop(self) -> None:
        self._muted = False
        for session in list(self.sessions):
            transport = session.writer.transport
            transport.abort()
        self.sessions.clear()

    def drop_connections(self) -> None:
        """Cut every client connection at once (calls go on), as a network failure would."""
        self._in_loop(self._drop)

    def _in_loop(self, function: Callable[[], object]) -> None:
        assert self.loop is not None
        if threading.current_thread() is self._thread:
            function()
            return
        done = threading.Event()

        def call() -> None:
            try:
                function()
            finally:
                done.set()

        self.loop.call_soon_threadsafe(call)
        if not done.wait(10):
            raise RuntimeError("the AMI simulator's loop did not answer")

    def live_channels(self) -> list[str]:
        """Names of the channels up now (thread-safe snapshot)."""
        names: list[str] = []
        self._in_loop(lambda: names.extend(self.channels))
        return names

    # Events -------------------------------------------------------------------------------------------------
    def _broadcast(self, event: str, fields: list[tuple[str, str]]) -> None:
        message = [("Event", event), ("Privilege", "call,all"), *fields]
        for session in list(self.sessions):
            if session.authenticated and session.events:
                session.send(message)

    def _channel_fields(self, channel: Channel, prefix: str = "") -> list[tuple[str, str]]:
        number = channel.number
        fields = [
            (f"{prefix}Channel", channel.name),
            (f"{prefix}ChannelState", str(channel.state)),
            (f"{prefix}ChannelStateDesc", STATE_TEXT.get(channel.state, "Unknown")),
            (f"{prefix}CallerIDNum", number),
            (f"{prefix}CallerIDName", "<unknown>"),
            (f"{prefix}ConnectedLineNum", channel.caller_id or "<unknown>"),
            (f"{prefix}ConnectedLineName", "<unknown>"),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", channel.context),
            (f"{prefix}Exten", channel.exten),
            (f"{prefix}Priority", str(channel.priority)),
            (f"{prefix}Uniqueid", channel.uniqueid),
            (f"{prefix}Linkedid", channel.linkedid),
        ]
        for name in self.channelvars:
            if name in channel.variables:
                fields.append((f"{prefix}ChanVariable", f"{name}={channel.variables[name]}"))
        return fields

    def _new_channel(self, *, tech: str, resource: str, number: str, uniqueid: str, linkedid: str) -> Channel:
        sequence = next(self._sequence)
        name = f"{tech}/{resource}-{sequence:08x}"
        uniqueid = uniqueid or f"{int(time.time())}.{sequence}"
        channel = Channel(name=name, uniqueid=uniqueid, linkedid=linkedid or uniqueid, number=number)
        self.channels[name] = channel
        return channel

    def _set_state(self, channel: Channel, state: int) -> None:
        channel.state = state
        self._broadcast("Newstate", self._channel_fields(channel))

    def _hangup_channel(self, channel: Channel, cause: int) -> None:
        if self.channels.pop(channel.name, None) is None:
            return
        if channel.bridge_id:
            self._broadcast(
                "BridgeLeave",
                [
                    ("BridgeUniqueid", channel.bridge_id),
                    ("BridgeType", "basic"),
                    *self._channel_fields(channel),
                ],
            )
            channel.bridge_id = ""
        self._broadcast(
            "Hangup",
            [
                *self._channel_fields(channel),
                ("Cause", str(cause)),
                ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")),
            ],
        )
        peer, channel.peer = channel.peer, None
        if peer is not None:
            peer.peer = None
            self._hangup_channel(peer, 16)
        if channel.call is not None:
            for timer in channel.call.timers:
                timer.cancel()
            channel.call.ended = True

    # Actions ------------------------------------------------------------------------------------------------
    def handle(self, session: Session, fields: list[tuple[str, str]]) -> bool:
        """Answer one action; False closes the connection."""
        action: dict[str, str] = {}
        variables: list[str] = []
        is_originate = any(k.lower() == "action" and v.lower() == "originate" for k, v in fields)
        for key, value in fields:
            if key.lower() == "variable" and is_originate:
                variables.extend(part for part in value.split(",") if part)
            else:
                action[key.lower()] = value
        name = action.get("action", "").lower()
        action_id = action.get("actionid", "")
        self.actions.append(name)
        if name == "login":
            ok = action.get("username") == self.username and action.get("secret") == self.secret
            self.logins.append((action.get("username", ""), ok))
            if not ok:
                session.respond(action_id, "Error", "Authentication failed")
                return False
            session.authenticated, session.username = True, action.get("username", "")
            session.events = action.get("events", "on").lower() not in ("off", "no", "false", "0")
            session.respond(action_id, "Success", "Authentication accepted")
            if session.events:
                session.send(
                    [("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted")]
                )
            return True
        if name == "logoff":
            session.respond(action_id, "Goodbye", "Thanks for all the fish.")
            return False
        if not session.authenticated:
            session.respond(action_id, "Error", "Permission denied")
            return True
        if name == "ping":
            session.respond(action_id, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")
        elif name == "events":
            session.events = action.get("eventmask", "on").lower() not in ("off", "no", "false", "0")
            session.respond(action_id, "Success", Events="On" if session.events else "Off")
        elif name == "originate":
            self._originate(session, action, variables)
        elif name == "hangup":
            self._hangup_action(session, action)
        elif name == "redirect":
            self._redirect(session, action)
        elif name == "setvar":
            channel = self._find(action.get("channel", ""))
            if channel is None:
                session.respond(action_id, "Error", "No such channel")
            else:
                channel.variables[action.get("variable", "")] = action.get("value", "")
                session.respond(action_id, "Success", "Variable Set")
        elif name == "getvar":
            channel = self._find(action.get("channel", ""))
            if channel is None:
                session.respond(action_id, "Error", "No such channel")
            else:
                variable = action.get("variable", "")
                session.respond(
                    action_id, "Success", Variable=variable, Value=channel.variables.get(variable, "")
                )
        elif name == "bridge":
            self._bridge_action(session, action)
        elif name in ("coreshowchannels", "status"):
            self._list_channels(session, action_id, name)
        else:
            session.respond(
                action_id,
                "Error",
                f"Invalid/unknown command: {action.get('action', '')}. "
                "Use Action: ListCommands to show available commands.",
            )
        return True

    def _find(self, name: str) -> Channel | None:
        """A channel by name or by unique id, as Asterisk looks channels up."""
        if name in self.channels:
            return self.channels[name]
        return next((c for c in self.channels.values() if c.uniqueid == name), None)

    def _originate(self, session: Session, action: dict[str, str], variables: list[str]) -> None:
        action_id = action.get("actionid", "")
        dial = action.get("channel", "")
        self.originates.append({**action, "variable": ",".join(variables)})
        if not dial:
            session.respond(action_id, "Error", "Channel not specified")
            return
        tech, _, rest = dial.partition("/")
        if not tech or not rest:
            session.respond(action_id, "Error", "Invalid channel")
            return
        number, _, trunk = rest.partition("@")
        if not trunk:  # SIP/trunk/number or Local/number style without a trunk part
            trunk, _, number = rest.rpartition("/")
            trunk = trunk or "trunk"
        if action.get("channelid") and self._find(action["channelid"]) is not None:
            session.respond(action_id, "Error", "Uniqueid already in use")
            return
        is_async = action.get("async", "false").lower() in ("true", "yes", "1")
        if self.drop_on_next_originate:
            self.drop_on_next_originate, self._muted = False, True
            assert self.loop is not None
            self.loop.call_soon(self._drop)
        if is_async:
            session.respond(action_id, "Success", "Originate successfully queued")
        channel = self._new_channel(
            tech=tech, resource=trunk, number=number, uniqueid=action.get("channelid", ""), linkedid=""
        )
        channel.caller_id = action.get("callerid", "")
        channel.context = action.get("context", "")
        channel.exten = action.get("exten", "s")
        channel.priority = int(action.get("priority", "1") or 1)
        for variable in variables:
            key, _, value = variable.partition("=")
            channel.variables[key.strip()] = value
        timeout = int(action.get("timeout", "30000") or 30000) / 1000
        call = Call(
            action_id=action_id,
            session=session,
            channel=channel,
            script=self.rule(number),
            timeout_s=timeout,
            is_async=is_async,
        )
        channel.call = call
        self._broadcast("Newchannel", self._channel_fields(channel))
        dial_string = rest
        self._broadcast("DialBegin", [*self._channel_fields(channel, "Dest"), ("DialString", dial_string)])
        assert self.loop is not None
        script = call.script
        if script.kind == "failed":
            call.timers.append(self.loop.call_later(script.ring_s, self._fail, call))
            return
        call.timers.append(self.loop.call_later(min(0.005, script.ring_s), self._ringing, call))
        if script.kind == "answer" and script.ring_s < timeout:
            call.timers.append(self.loop.call_later(script.ring_s, self._answer, call))
        elif script.kind == "busy" and script.ring_s < timeout:
            call.timers.append(self.loop.call_later(script.ring_s, self._unanswered, call, "BUSY", 17, 5))
        elif script.kind == "no_answer" and script.ring_s < timeout:
            call.timers.append(self.loop.call_later(script.ring_s, self._unanswered, call, "NOANSWER", 19, 3))
        else:  # rings until the Originate's timeout
            call.timers.append(self.loop.call_later(timeout, self._unanswered, call, "NOANSWER", 19, 3))

    def _originate_response(self, call: Call, success: bool, reason: int) -> None:
        channel = call.channel
        fields = [
            ("Response", "Success" if success else "Failure"),
            ("Channel", channel.name),
            ("Context", channel.context),
            ("Exten", channel.exten),
            ("Reason", str(reason)),
            ("Uniqueid", channel.uniqueid if success or channel.name in self.channels else "<null>"),
            ("CallerIDNum", channel.caller_id or "<unknown>"),
            ("CallerIDName", "<unknown>"),
        ]
        if call.is_async:
            message = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
            if call.action_id:
                message.append(("ActionID", call.action_id))
            message.extend(fields)
            for session in list(self.sessions):
                if session.authenticated and session.events:
                    session.send(message)
        elif call.session is not None:
            if success:
                call.session.respond(call.action_id, "Success", "Originate successfully queued")
            else:
                call.session.respond(call.action_id, "Error", "Originate failed")

    def _ringing(self, call: Call) -> None:
        if not call.ended:
            self._set_state(call.channel, 5)

    def _fail(self, call: Call) -> None:
        channel = call.channel
        call.dial_status = "CHANUNAVAIL"
        self._broadcast("DialEnd", [*self._channel_fields(channel, "Dest"), ("DialStatus", "CHANUNAVAIL")])
        self._hangup_channel(channel, call.script.cause)
        self._originate_response(call, False, 8 if call.script.cause in (34, 38, 41, 42) else 0)

    def _unanswered(self, call: Call, status: str, cause: int, reason: int) -> None:
        if call.ended:
            return
        call.dial_status = status
        self._broadcast("DialEnd", [*self._channel_fields(call.channel, "Dest"), ("DialStatus", status)])
        self._hangup_channel(call.channel, cause)
        self._originate_response(call, False, reason)

    def _answer(self, call: Call) -> None:
        if call.ended:
            return
        channel = call.channel
        call.answered, call.dial_status = True, "ANSWER"
        self._set_state(channel, 6)
        self._broadcast("DialEnd", [*self._channel_fields(channel, "Dest"), ("DialStatus", "ANSWER")])
        self._originate_response(call, True, 4)
        self._run_dialplan(call)

    def _run_dialplan(self, call: Call) -> None:
        """The dialler's context: dial NAVID_AGENT at once, or hold until redirected or the customer gives up."""
        assert self.loop is not None
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()
        channel = call.channel
        agent = channel.variables.get("NAVID_AGENT", "")
        if agent:
            channel.application = "Dial"
            call.timers.append(self.loop.call_later(self.agent_answer_s, self._connect_agent, call, agent))
        else:
            channel.application = "MusicOnHold"
            call.timers.append(self.loop.call_later(call.script.patience_s, self._give_up, call))

    def _give_up(self, call: Call) -> None:
        self._hangup_channel(call.channel, 16)

    def _connect_agent(self, call: Call, agent: str) -> None:
        if call.ended:
            return
        customer = call.channel
        tech, _, resource = agent.partition("/")
        agent_leg = self._new_channel(
            tech=tech or "PJSIP",
            resource=resource or agent,
            number=resource,
            uniqueid="",
            linkedid=customer.linkedid,
        )
        agent_leg.context, agent_leg.state = "from-internal", 0
        self._broadcast("Newchannel", self._channel_fields(agent_leg))
        self._broadcast(
            "DialBegin",
            [
                *self._channel_fields(customer),
                *self._channel_fields(agent_leg, "Dest"),
                ("DialString", resource),
            ],
        )
        self._set_state(agent_leg, 6)
        self._broadcast(
            "DialEnd",
            [
                *self._channel_fields(customer),
                *self._channel_fields(agent_leg, "Dest"),
                ("DialStatus", "ANSWER"),
            ],
        )
        self._bridge(customer, agent_leg)
        assert self.loop is not None
        call.timers.append(self.loop.call_later(call.script.talk_s, self._hangup_channel, customer, 16))

    def _bridge(self, first: Channel, second: Channel) -> None:
        bridge_id = f"bridge-{next(self._bridges):04d}"
        self._broadcast(
            "BridgeCreate",
            [("BridgeUniqueid", bridge_id), ("BridgeType", "basic"), ("BridgeTechnology", "simple_bridge")],
        )
        for count, channel in enumerate((first, second), start=1):
            channel.bridge_id, channel.application = bridge_id, "Dial" if channel is first else "AppDial"
            self._broadcast(
                "BridgeEnter",
                [
                    ("BridgeUniqueid", bridge_id),
                    ("BridgeType", "basic"),
                    ("BridgeTechnology", "simple_bridge"),
                    ("BridgeNumChannels", str(count)),
                    *self._channel_fields(channel),
                ],
            )
        first.peer, second.peer = second, first

    def _hangup_action(self, session: Session, action: dict[str, str]) -> None:
        action_id = action.get("actionid", "")
        channel = self._find(action.get("channel", ""))
        if channel is None:
            session.respond(action_id, "Error", "No such channel")
            return
        session.respond(action_id, "Success", "Channel Hungup")
        cause = int(action.get("cause", "16") or 16)
        call = channel.call
        if call is not None and not call.answered:
            call.dial_status = "CANCEL"
            self._broadcast("DialEnd", [*self._channel_fields(channel, "Dest"), ("DialStatus", "CANCEL")])
            self._hangup_channel(channel, cause)
            self._originate_response(call, False, 1)
            return
        self._hangup_channel(channel, cause)

    def _redirect(self, session: Session, action: dict[str, str]) -> None:
        action_id = action.get("actionid", "")
        channel = self._find(action.get("channel", ""))
        if channel is None:
            session.respond(action_id, "Error", "No such channel")
            return
        if not action.get("exten") or not action.get("context"):
            session.respond(
                action_id,
                "Error",
                "Exten not specified" if not action.get("exten") else "Context not specified",
            )
            return
        session.respond(action_id, "Success", "Redirect successful")
        channel.context, channel.exten = action["context"], action["exten"]
        channel.priority = int(action.get("priority", "1") or 1)
        if channel.call is not None and channel.call.answered and not channel.bridge_id:
            self._run_dialplan(channel.call)

    def _bridge_action(self, session: Session, action: dict[str, str]) -> None:
        action_id = action.get("actionid", "")
        first, second = self._find(action.get("channel1", "")), self._find(action.get("channel2", ""))
        if first is None or second is None:
            session.respond(action_id, "Error", f"Channel{'1' if first is None else '2'} does not exist")
            return
        session.respond(action_id, "Success", "Channels have been bridged")
        for channel in (first, second):
            if channel.call is not None:
                for timer in channel.call.timers:
                    timer.cancel()
        self._bridge(first, second)
        call = first.call or second.call
        if call is not None:
            assert self.loop is not None
            call.timers.append(
                self.loop.call_later(call.script.talk_s, self._hangup_channel, call.channel, 16)
            )

    def _list_channels(self, session: Session, action_id: str, name: str) -> None:
        if name == "coreshowchannels":
            event, complete, message = "CoreShowChannel", "CoreShowChannelsComplete", "Channels will follow"
        else:
            event, complete, message = "Status", "StatusComplete", "Channel status will follow"
        session.respond(action_id, "Success", message, EventList="start")
        now = time.monotonic()
        channels = list(self.channels.values())
        for channel in channels:
            seconds = int(now - channel.created)
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            fields = [("Event", event), ("ActionID", action_id), *self._channel_fields(channel)]
            fields += [
                ("Application", channel.application),
                ("ApplicationData", ""),
                ("Duration", duration),
                ("BridgeId", channel.bridge_id),
            ]
            session.send(fields)
        session.send(
            [
                ("Event", complete),
                ("ActionID", action_id),
                ("EventList", "Complete"),
                ("ListItems", str(len(channels))),
            ]
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A simulated Asterisk Manager Interface for the Navid demo.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="navid")
    parser.add_argument("--secret", default="secret")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--answered", type=float, default=0.3)
    parser.add_argument("--busy", type=float, default=0.2)
    parser.add_argument("--no-answer", type=float, default=0.3)
    args = parser.parse_args(argv)
    simulator = AmiSimulator(
        host=args.host,
        port=args.port,
        username=args.username,
        secret=args.secret,
        rule=mix_rule(seed=args.seed, answered=args.answered, busy=args.busy, no_answer=args.no_answer),
    )

    async def run() -> None:
        await simulator.serve()
        print(f"AMI simulator listening on {args.host}:{simulator.port} (user {args.username})", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
