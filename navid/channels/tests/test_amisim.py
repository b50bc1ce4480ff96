"""The simulator on the wire, read with a plain socket: what any AMI client would see."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from navid.channels.amisim import AmiSimulator, Script, last_digit_rule, mix_rule
from navid.channels.tests.servers import free_port


class Wire:
    """A raw AMI connection: write actions, read messages as lists of (key, value)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        self.banner = self._line()

    def _line(self) -> str:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buffer += data

    def send(self, *fields: tuple[str, str]) -> None:
        self.sock.sendall(("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode())

    def read(self) -> dict[str, str]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        block, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return dict(line.split(": ", 1) for line in block.decode().split("\r\n"))

    def read_until(self, event: str) -> list[dict[str, str]]:
        messages = [self.read()]
        while messages[-1].get("Event") != event:
            messages.append(self.read())
        return messages

    def login(self, secret: str = "secret", events: str = "on") -> dict[str, str]:  # noqa: S107
        self.send(
            ("Action", "Login"),
            ("ActionID", "l1"),
            ("Username", "navid"),
            ("Secret", secret),
            ("Events", events),
        )
        return self.read()

    def closed(self) -> bool:
        try:
            while True:
                self._fill()
        except ConnectionError:
            return True
        except TimeoutError:
            return False


@pytest.fixture(name="simulator")
def simulator_fixture() -> Iterator[AmiSimulator]:
    simulator = AmiSimulator(rule=last_digit_rule(ring_s=0.01, talk_s=0.02)).start()
    yield simulator
    simulator.stop()


def test_banner_login_ping_and_logoff(simulator: AmiSimulator) -> None:
    wire = Wire(simulator.port)
    assert wire.banner == "Asterisk Call Manager/5.0.2"
    wire.send(("Action", "Ping"), ("ActionID", "p0"))
    assert wire.read() == {"Response": "Error", "ActionID": "p0", "Message": "Permission denied"}
    assert wire.login() == {"Response": "Success", "ActionID": "l1", "Message": "Authentication accepted"}
    assert wire.read() == {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}
    wire.send(("Action", "Ping"), ("ActionID", "p1"))
    pong = wire.read()
    assert (pong["Response"], pong["ActionID"], pong["Ping"]) == ("Success", "p1", "Pong")
    wire.send(("Action", "Frobnicate"), ("ActionID", "f"))
    assert wire.read()["Message"].startswith("Invalid/unknown command: Frobnicate.")
    wire.send(("Action", "Logoff"), ("ActionID", "bye"))
    assert wire.read() == {"Response": "Goodbye", "ActionID": "bye", "Message": "Thanks for all the fish."}
    assert wire.closed()


def test_a_wrong_secret_is_refused_and_the_connection_closed(simulator: AmiSimulator) -> None:
    wire = Wire(simulator.port)
    assert wire.login("nope") == {"Response": "Error", "ActionID": "l1", "Message": "Authentication failed"}
    assert wire.closed()
    assert simulator.logins == [("navid", False)]


def test_an_async_originate_is_queued_then_followed_by_the_call_events(simulator: AmiSimulator) -> None:
    wire = Wire(simulator.port)
    wire.login()
    wire.read()  # FullyBooted
    wire.send(
        ("Action", "Originate"),
        ("ActionID", "a-1"),
        ("Channel", "PJSIP/989121234561@operator"),
        ("Context", "navid-dialer"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Async", "true"),
        ("ChannelId", "navid-a-1"),
        ("Variable", "NAVID_ATTEMPT=a-1"),
    )
    assert wire.read() == {
        "Response": "Success",
        "ActionID": "a-1",
        "Message": "Originate successfully queued",
    }
    messages = wire.read_until("OriginateResponse")
    assert [m["Event"] for m in messages] == [
        "Newchannel",
        "DialBegin",
        "Newstate",
        "DialEnd",
        "Hangup",
        "OriginateResponse",
    ]
    newchannel, _, ringing, dial_end, hangup, response = messages
    assert (newchannel["Channel"], newchannel["Uniqueid"], newchannel["ChanVariable"]) == (
        "PJSIP/operator-00000001",
        "navid-a-1",
        "NAVID_ATTEMPT=a-1",
    )
    assert (ringing["ChannelState"], ringing["ChannelStateDesc"]) == ("5", "Ringing")
    assert (dial_end["DestUniqueid"], dial_end["DialStatus"]) == ("navid-a-1", "BUSY")
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("17", "User busy")
    assert (response["ActionID"], response["Response"], response["Reason"]) == ("a-1", "Failure", "5")


def test_core_show_channels_lists_live_calls_and_hangup_ends_one(simulator: AmiSimulator) -> None:
    simulator.rule = lambda number: Script("ring")
    wire = Wire(simulator.port)
    assert wire.login(events="off")["Response"] == "Success"  # no events: only the responses follow
    for n in (1, 2):
        wire.send(
            ("Action", "Originate"),
            ("ActionID", f"o{n}"),
            ("Channel", f"PJSIP/98912000000{n}@operator"),
            ("Async", "yes"),
            ("ChannelId", f"c{n}"),
            ("Context", "x"),
            ("Exten", "s"),
            ("Priority", "1"),
        )
        assert wire.read()["Message"] == "Originate successfully queued"
    wire.send(("Action", "CoreShowChannels"), ("ActionID", "list"))
    messages = wire.read_until("CoreShowChannelsComplete")
    assert (messages[0]["Response"], messages[0]["EventList"], messages[0]["Message"]) == (
        "Success",
        "start",
        "Channels will follow",
    )
    assert [(m["Event"], m["Uniqueid"]) for m in messages[1:-1]] == [
        ("CoreShowChannel", "c1"),
        ("CoreShowChannel", "c2"),
    ]
    assert (messages[-1]["ListItems"], messages[-1]["EventList"], messages[-1]["ActionID"]) == (
        "2",
        "Complete",
        "list",
    )
    wire.send(("Action", "Hangup"), ("ActionID", "h"), ("Channel", "c1"))
    assert wire.read() == {"Response": "Success", "ActionID": "h", "Message": "Channel Hungup"}
    wire.send(("Action", "Hangup"), ("ActionID", "h2"), ("Channel", "PJSIP/nobody-1"))
    assert wire.read()["Message"] == "No such channel"
    assert simulator.live_channels() == ["PJSIP/operator-00000002"]


def test_drop_connections_cuts_every_client_and_keeps_calls(simulator: AmiSimulator) -> None:
    simulator.rule = lambda number: Script("ring")
    first, second = Wire(simulator.port), Wire(simulator.port)
    first.login(events="off")
    first.send(
        ("Action", "Originate"),
        ("ActionID", "o"),
        ("Channel", "PJSIP/989120000001@operator"),
        ("Async", "true"),
        ("Context", "x"),
        ("Exten", "s"),
        ("Priority", "1"),
    )
    assert first.read()["Message"] == "Originate successfully queued"
    simulator.drop_connections()
    assert first.closed() and second.closed()
    assert len(simulator.live_channels()) == 1
    assert Wire(simulator.port).login()["Response"] == "Success"


def test_rules_by_last_digit_and_a_seeded_mix() -> None:
    rule = last_digit_rule()
    assert [rule(f"98912000000{d}").kind for d in "0123456"] == [
        "answer",
        "busy",
        "no_answer",
        "failed",
        "failed",
        "ring",
        "answer",
    ]
    mix = mix_rule(seed=7, answered=0.3, busy=0.2, no_answer=0.3)
    kinds = [mix(f"98912{n:07d}").kind for n in range(5000)]
    assert kinds == [mix(f"98912{n:07d}").kind for n in range(5000)]  # the same number, the same script
    shares = {kind: round(kinds.count(kind) / 5000, 1) for kind in set(kinds)}
    assert shares == {"answer": 0.3, "busy": 0.2, "no_answer": 0.3, "failed": 0.2}
    with pytest.raises(ValueError, match="more than 1"):
        mix_rule(answered=0.6, busy=0.3, no_answer=0.3)


def test_it_runs_as_a_demo_process() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "navid.channels.amisim", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert (
            process.stdout.readline().strip() == f"AMI simulator listening on 127.0.0.1:{port} (user navid)"
        )
        deadline = time.monotonic() + 5
        wire = None
        while wire is None and time.monotonic() < deadline:
            try:
                wire = Wire(port)
            except OSError:
                time.sleep(0.05)
        assert wire is not None and wire.login()["Response"] == "Success"
    finally:
        process.terminate()
        process.wait(10)
