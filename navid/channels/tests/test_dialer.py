import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC
from typing import Any

import pytest

from navid.channels.amisim import Script
from navid.channels.dialer import (
    AsteriskDialer,
    CallEvent,
    CallNotInProgress,
    CallOutcome,
    CallRequest,
    ConsoleDialer,
    DialerLoginFailed,
    DialerUnavailable,
    channel_id,
    classify,
    dial_string,
    dialer_from_settings,
)
from navid.channels.tests.conftest import AmiTarget
from navid.channels.tests.servers import free_port


def run(coroutine: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def request(
    ami: AmiTarget, attempt_id: str, last_digit: str, *, agent: str | None = "", **options: Any
) -> CallRequest:
    return CallRequest(
        attempt_id=attempt_id,
        phone=f"+98912000{len(attempt_id):03d}{last_digit}",
        trunk=ami.trunk,
        caller_id="02188776655",
        agent_endpoint=ami.agent if agent == "" else agent,
        **options,
    )


class Recorder:
    """Reads a dialer's events into one list per attempt until the attempts wanted have ended."""

    def __init__(self, dialer: AsteriskDialer | ConsoleDialer) -> None:
        self.dialer = dialer
        self.stream = dialer.events()
        self.by_attempt: dict[str, list[CallEvent]] = {}
        self.order: list[tuple[str, str]] = []

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async def read() -> None:
            while not check():
                event = await anext(self.stream)
                self.by_attempt.setdefault(event.attempt_id, []).append(event)
                self.order.append((event.attempt_id, event.state))

        await asyncio.wait_for(read(), timeout)

    async def ended(self, *attempts: str, timeout: float = 5.0) -> None:
        await self.until(
            lambda: all(self.last(a) is not None and self.last(a).state == "ended" for a in attempts), timeout
        )

    async def reached(self, attempt: str, state: str, timeout: float = 5.0) -> None:
        await self.until(lambda: state in self.states(attempt), timeout)

    def last(self, attempt: str) -> CallEvent | None:
        events = self.by_attempt.get(attempt)
        return events[-1] if events else None

    def states(self, attempt: str) -> list[str]:
        return [event.state for event in self.by_attempt.get(attempt, [])]


async def with_dialer(
    ami: AmiTarget, body: Callable[[AsteriskDialer, Recorder], Awaitable[None]], **options: Any
) -> None:
    dialer = ami.dialer(**options)
    await dialer.start()
    recorder = Recorder(dialer)
    try:
        await body(dialer, recorder)
    finally:
        await dialer.stop()


def test_given_numbers_that_answer_are_busy_do_not_answer_or_fail_then_each_outcome_is_classified(
    ami: AmiTarget,
) -> None:
    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        for attempt, digit in (("ans", "0"), ("busy", "1"), ("noans", "2"), ("cong", "3"), ("unalloc", "4")):
            await dialer.originate(request(ami, attempt, digit))
        await events.ended("ans", "busy", "noans", "cong", "unalloc")

        outcomes = {attempt: events.last(attempt).outcome for attempt in events.by_attempt}
        assert outcomes == {
            "ans": CallOutcome.ANSWERED,
            "busy": CallOutcome.BUSY,
            "noans": CallOutcome.NO_ANSWER,
            "cong": CallOutcome.FAILED,
            "unalloc": CallOutcome.FAILED,
        }
        assert events.states("ans") == ["dialing", "ringing", "answered", "bridged", "ended"]
        assert events.states("busy") == ["dialing", "ringing", "ended"]
        assert events.last("busy").detail == "cause 17 User busy, dial status BUSY"
        assert events.last("noans").detail == "cause 19 User alerting, no answer, dial status NOANSWER"
        assert (
            events.last("unalloc").detail
            == "cause 1 Unallocated (unassigned) number, dial status CHANUNAVAIL"
        )
        assert events.last("ans").talk_seconds == 0
        assert events.last("busy").talk_seconds is None
        assert all(event.at.tzinfo is UTC for event in events.by_attempt["ans"])
        assert dialer.calls_in_progress() == {}

    run(with_dialer(ami, body))


def test_given_a_number_that_rings_on_then_the_originate_timeout_ends_it_as_no_answer(ami: AmiTarget) -> None:
    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "ring", "5", timeout_s=1))
        await events.reached("ring", "ringing")
        assert dict(dialer.calls_in_progress()) == {"ring": events.last("ring")}
        await events.ended("ring", timeout=4)
        assert events.last("ring").outcome == CallOutcome.NO_ANSWER

    run(with_dialer(ami, body))


def test_given_two_calls_at_once_then_each_is_matched_to_its_own_events_and_originate(ami: AmiTarget) -> None:
    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "first", "1", variables={"CAMPAIGN": "12"}))
        await dialer.originate(request(ami, "second", "0"))
        await events.ended("first", "second")
        assert events.last("first").outcome == CallOutcome.BUSY
        assert events.last("second").outcome == CallOutcome.ANSWERED
        assert "bridged" not in events.states("first")

    run(with_dialer(ami, body))
    simulator = ami.need_simulator()
    first, second = simulator.originates
    assert (first["actionid"], first["channel"], first["channelid"], first["async"]) == (
        "first",
        "PJSIP/989120000051@operator",
        "navid-first",
        "true",
    )
    assert first["variable"] == "CAMPAIGN=12,NAVID_ATTEMPT=first,NAVID_AGENT=PJSIP/1001"
    assert (first["context"], first["exten"], first["priority"], first["timeout"], first["callerid"]) == (
        "navid-dialer",
        "s",
        "1",
        "30000",
        "02188776655",
    )
    assert second["actionid"] == "second"


def test_given_a_predictive_call_answered_then_bridge_connects_it_to_the_agent(ami: AmiTarget) -> None:
    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "pred", "0", agent=None))
        await events.reached("pred", "answered")
        assert dialer.calls_in_progress()["pred"].state == "answered"
        await dialer.bridge("pred", ami.agent)
        await events.ended("pred")
        assert events.states("pred") == ["dialing", "ringing", "answered", "bridged", "ended"]
        assert events.last("pred").outcome == CallOutcome.ANSWERED
        with pytest.raises(CallNotInProgress, match="no call in progress for attempt pred"):
            await dialer.bridge("pred", ami.agent)

    run(with_dialer(ami, body, abandon_after_s=3.0))
    simulator = ami.need_simulator()
    assert [a for a in simulator.actions if a in ("setvar", "redirect")] == ["setvar", "redirect"]


def test_given_no_agent_frees_within_the_limit_then_the_answered_call_is_hung_up_as_abandoned(
    ami: AmiTarget,
) -> None:
    async def body_abandon(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "wait", "0", agent=None))
        await events.ended("wait")
        last = events.last("wait")
        assert (last.outcome, last.detail) == (
            CallOutcome.ABANDONED,
            "no agent free within 0.1 s, cause 16 Normal Clearing, dial status ANSWER",
        )
        assert events.states("wait") == ["dialing", "ringing", "answered", "ended"]

    run(with_dialer(ami, body_abandon, abandon_after_s=0.1))


def test_given_calls_ringing_and_bridged_when_the_dialer_hangs_up_then_they_end_with_the_right_outcome(
    ami: AmiTarget,
) -> None:
    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "ringing", "5", timeout_s=5))
        await events.reached("ringing", "ringing")
        with pytest.raises(CallNotInProgress, match="attempt ringing is ringing, not answered and waiting"):
            await dialer.bridge("ringing", ami.agent)
        await dialer.hangup("ringing")
        await events.ended("ringing")
        assert events.last("ringing").outcome == CallOutcome.NO_ANSWER
        assert events.last("ringing").detail.startswith("hung up by the dialer, cause 16")
        with pytest.raises(CallNotInProgress):
            await dialer.hangup("ringing")

    run(with_dialer(ami, body))


def test_given_the_link_drops_with_calls_in_progress_then_they_are_still_tracked_and_end_correctly(
    ami: AmiTarget,
) -> None:
    simulator = ami.need_simulator()
    scripts = {
        "0": Script("answer", ring_s=0.01, patience_s=10.0),  # waits for an agent through the outage
        "6": Script("answer", ring_s=0.01, talk_s=1.2),  # talks through the outage
        "7": Script("answer", ring_s=0.01, talk_s=0.1),  # hangs up during the outage, after talking
        "8": Script("busy", ring_s=0.3),  # busy during the outage
        "5": Script("ring"),  # rings through the outage, then times out
    }
    simulator.rule = lambda number: scripts[number[-1]]

    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "waiting", "0", agent=None))
        await dialer.originate(request(ami, "talking", "6"))
        await dialer.originate(request(ami, "short", "7"))
        await dialer.originate(request(ami, "busy", "8"))
        await dialer.originate(request(ami, "ringing", "5", timeout_s=2))
        for attempt in ("talking", "short"):
            await events.reached(attempt, "bridged")
        await events.reached("waiting", "answered")
        await events.reached("ringing", "ringing")

        simulator.drop_connections()
        await asyncio.sleep(0.05)
        assert not dialer.connected
        with pytest.raises(DialerUnavailable, match="is down"):
            await dialer.originate(request(ami, "during", "0"))
        assert set(dialer.calls_in_progress()) == {"waiting", "talking", "short", "busy", "ringing"}

        await events.ended("short", "busy", timeout=3)  # settled by the reconciliation after reconnecting
        assert dialer.connected and dialer.reconnections == 1
        assert (events.last("busy").outcome, events.last("busy").detail) == (
            CallOutcome.FAILED,
            "lost while disconnected",
        )
        short = events.last("short")
        assert (short.outcome, short.detail) == (
            CallOutcome.ANSWERED,
            "ended while the AMI link was down; talk time counted to the moment it dropped",
        )
        assert set(dialer.calls_in_progress()) == {"waiting", "talking", "ringing"}
        assert dialer.calls_in_progress()["waiting"].state == "answered"
        assert dialer.calls_in_progress()["talking"].state == "bridged"

        await dialer.bridge("waiting", ami.agent)
        await events.ended("waiting", "talking", "ringing", timeout=4)
        assert [events.last(a).outcome for a in ("waiting", "talking", "ringing")] == [
            CallOutcome.ANSWERED,
            CallOutcome.ANSWERED,
            CallOutcome.NO_ANSWER,
        ]
        assert events.last("talking").detail == "cause 16 Normal Clearing, dial status ANSWER"
        assert events.states("talking") == ["dialing", "ringing", "answered", "bridged", "ended"]

    run(with_dialer(ami, body, abandon_after_s=5.0, reconnect_delays_s=(0.4, 1.0)))
    assert simulator.logins == [("navid", True), ("navid", True)]
    assert simulator.actions.count("coreshowchannels") == 1


def test_given_the_link_drops_before_the_originate_response_then_the_call_is_followed_not_dialled_again(
    ami: AmiTarget,
) -> None:
    simulator = ami.need_simulator()
    simulator.rule = lambda number: Script("answer", ring_s=0.4, talk_s=0.05)
    simulator.drop_on_next_originate = True

    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        await dialer.originate(request(ami, "inflight", "0"))  # no error: it may have been queued
        assert dict(dialer.calls_in_progress())["inflight"].state == "dialing"
        await events.ended("inflight", timeout=4)
        assert events.states("inflight") == ["dialing", "ringing", "answered", "bridged", "ended"]
        assert events.last("inflight").outcome == CallOutcome.ANSWERED
        assert dialer.reconnections == 1

    run(with_dialer(ami, body))
    assert len(simulator.originates) == 1


def test_given_a_wrong_secret_then_start_fails_with_a_clear_error(ami: AmiTarget) -> None:
    dialer = ami.dialer()
    dialer.secret = "wrong-" + dialer.secret
    with pytest.raises(DialerLoginFailed, match="refused the login of 'navid': Authentication failed"):
        run(dialer.start())


def test_given_no_server_then_start_and_originate_raise_dialer_unavailable() -> None:
    dialer = AsteriskDialer("127.0.0.1", free_port(), "navid", "secret")
    with pytest.raises(
        DialerUnavailable, match=r"cannot connect to the Asterisk manager at 127\.0\.0\.1:\d+"
    ):
        run(dialer.start())
    call = CallRequest(
        attempt_id="x", phone="+989121234567", trunk="PJSIP/operator", caller_id="", agent_endpoint=None
    )
    with pytest.raises(DialerUnavailable, match="is down"):
        run(dialer.originate(call))


def test_given_the_login_is_refused_on_reconnection_then_the_dialer_keeps_trying_and_says_why(
    ami: AmiTarget,
) -> None:
    simulator = ami.need_simulator()

    async def body(dialer: AsteriskDialer, events: Recorder) -> None:
        simulator.secret = "changed"
        simulator.drop_connections()
        await asyncio.sleep(0.4)
        assert not dialer.connected
        assert "refused the login of 'navid'" in dialer.last_error
        simulator.secret = "secret"
        deadline = asyncio.get_running_loop().time() + 3
        while not dialer.connected and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert dialer.connected

    run(with_dialer(ami, body, reconnect_delays_s=(0.05, 0.1)))


def test_dial_string_channel_id_and_url() -> None:
    assert dial_string("PJSIP/operator", "+98 912 123 4567") == "PJSIP/989121234567@operator"
    assert dial_string("SIP/operator/00{number}", "+989121234567") == "SIP/operator/00989121234567"
    with pytest.raises(ValueError, match="must look like TECH/name"):
        dial_string("operator", "+989121234567")
    assert channel_id("12:3 a") == "navid-12_3_a"
    dialer = AsteriskDialer.from_url("ami://nav%40id:s%2Fcret@pbx.bank.local?context=outbound")
    assert (dialer.host, dialer.port, dialer.username, dialer.secret, dialer.context) == (
        "pbx.bank.local",
        5038,
        "nav@id",
        "s/cret",
        "outbound",
    )
    with pytest.raises(ValueError, match="ami://user:secret@host:5038"):
        AsteriskDialer.from_url("http://pbx:5038")


@pytest.mark.parametrize(
    ("seen", "outcome"),
    [
        ({"answered": True, "bridged": True}, CallOutcome.ANSWERED),
        ({"answered": True}, CallOutcome.ABANDONED),
        ({"cause": 17}, CallOutcome.BUSY),
        ({"cause": 19}, CallOutcome.NO_ANSWER),
        ({"cause": 18}, CallOutcome.NO_ANSWER),
        ({"cause": 21}, CallOutcome.FAILED),
        ({"cause": 38}, CallOutcome.FAILED),
        ({"cause": 16}, CallOutcome.NO_ANSWER),
        ({"cause": 16, "dial_status": "CONGESTION"}, CallOutcome.FAILED),
        ({"reason": 5}, CallOutcome.BUSY),
        ({"reason": 3}, CallOutcome.NO_ANSWER),
        ({"reason": 0}, CallOutcome.FAILED),
        ({"cause": 34, "hangup_by_dialer": True}, CallOutcome.NO_ANSWER),
    ],
)
def test_classify(seen: dict[str, Any], outcome: CallOutcome) -> None:
    values: dict[str, Any] = {
        "answered": False,
        "bridged": False,
        "hangup_by_dialer": False,
        "cause": None,
        "dial_status": "",
        "reason": None,
    }
    assert classify(**(values | seen)) == outcome


def test_console_dialer_reports_what_the_agent_says() -> None:
    async def body() -> None:
        dialer = ConsoleDialer()
        await dialer.start()
        events = Recorder(dialer)
        call = CallRequest(
            attempt_id="p1", phone="+989121234567", trunk="", caller_id="", agent_endpoint="agent"
        )
        await dialer.originate(call)
        dialer.answered("p1")
        assert dialer.calls_in_progress()["p1"].state == "bridged"
        with pytest.raises(ValueError, match="does not fit a call that was answered"):
            dialer.finished("p1", CallOutcome.BUSY)
        dialer.finished("p1", CallOutcome.ANSWERED, "interested")
        await dialer.originate(
            CallRequest(attempt_id="p2", phone="+989121234568", trunk="", caller_id="", agent_endpoint=None)
        )
        await dialer.hangup("p2")
        await events.ended("p1", "p2")
        assert events.states("p1") == ["dialing", "answered", "bridged", "ended"]
        assert (events.last("p1").outcome, events.last("p1").talk_seconds, events.last("p1").detail) == (
            CallOutcome.ANSWERED,
            0,
            "interested",
        )
        assert events.last("p2").outcome == CallOutcome.NO_ANSWER
        assert dialer.calls_in_progress() == {}
        await dialer.stop()

    run(body())


def test_dialer_from_settings(settings: Any) -> None:
    settings.NAVID_AMI_URL = ""
    assert isinstance(dialer_from_settings(), ConsoleDialer)
    settings.NAVID_AMI_URL = "ami://navid:secret@10.0.0.5:5038"
    settings.NAVID_AMI_CONTEXT = "bank-outbound"
    settings.NAVID_ABANDON_AFTER_SECONDS = 1.5
    dialer = dialer_from_settings()
    assert isinstance(dialer, AsteriskDialer)
    assert (dialer.host, dialer.port, dialer.context, dialer.abandon_after_s) == (
        "10.0.0.5",
        5038,
        "bank-outbound",
        1.5,
    )
