"""Real servers on 127.0.0.1 for the channel tests and benchmarks: SMTP (aiosmtpd), SMPP 3.4, an HTTP SMS gateway.

Each records what it received so that tests can count it, and can be told to refuse given recipients. The SMPP
server speaks the protocol itself (struct-level PDUs), independent of the smpplib client under test.

Use the fixtures by importing them into a test module: `from navid.channels.tests.servers import
smtp_server_fixture  # noqa: F401`, then ask for `smtp_server`.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

# SMTP ------------------------------------------------------------------------------------------------------------
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    content: bytes

    @property
    def message_id(self) -> str:
        found = _MESSAGE_ID.search(self.content)
        return found.group(1).decode() if found else ""


class SmtpRecorder:
    """aiosmtpd handler: records each accepted message; refuses recipients listed in `refuse`."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.refuse: dict[str, str] = {}  # address -> full SMTP reply, e.g. "550 5.1.1 no such user"
        self.refuse_data: dict[str, str] = {}  # address -> reply to the end of data
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if address in self.refuse_data:
                return self.refuse_data[address]
        with self.lock:
            self.messages.append(
                ReceivedMail(
                    sender=envelope.mail_from, recipients=list(envelope.rcpt_tos), content=envelope.content
                )
            )
        return "250 OK queued"

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(message.message_id for message in self.messages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """A running aiosmtpd server on 127.0.0.1 with its recorder."""

    def __init__(self) -> None:
        self.recorder = SmtpRecorder()
        self.host, self.port = "127.0.0.1", free_port()
        self.controller = Controller(self.recorder, hostname=self.host, port=self.port, ready_timeout=10)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.recorder.messages


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


# SMPP 3.4 --------------------------------------------------------------------------------------------------------
BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x00000001, 0x00000002, 0x00000009
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x00000004, 0x00000005, 0x00000006, 0x00000015
GENERIC_NACK, RESP = 0x80000000, 0x80000000
ESME_RINVCMDID, ESME_RINVPASWD = 0x00000003, 0x0000000E


def _cstring(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end], end + 1


@dataclass
class Submitted:
    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    message_id: str
    status: int


def parse_submit_sm(body: bytes) -> dict[str, Any]:
    """The fields of a submit_sm body (SMPP 3.4, 4.4.1)."""
    pos = 0
    _service, pos = _cstring(body, pos)
    pos += 2  # source TON, NPI
    source, pos = _cstring(body, pos)
    pos += 2  # destination TON, NPI
    destination, pos = _cstring(body, pos)
    esm_class, _protocol, _priority = body[pos], body[pos + 1], body[pos + 2]
    pos += 3
    _schedule, pos = _cstring(body, pos)
    _validity, pos = _cstring(body, pos)
    registered, _replace, coding, _default, length = body[pos : pos + 5]
    pos += 5
    return {
        "source": source.decode(),
        "destination": destination.decode(),
        "esm_class": esm_class,
        "data_coding": coding,
        "registered_delivery": registered,
        "short_message": body[pos : pos + length],
    }


def deliver_sm_body(
    *, source: str, destination: str, esm_class: int, data_coding: int, message: bytes, tlvs: bytes = b""
) -> bytes:
    """A deliver_sm body (SMPP 3.4, 4.6.1)."""
    return (
        b"\x00"  # service_type
        + bytes((1, 1))
        + source.encode()
        + b"\x00"
        + bytes((1, 1))
        + destination.encode()
        + b"\x00"
        + bytes((esm_class, 0, 0))
        + b"\x00\x00"  # schedule_delivery_time, validity_period
        + bytes((0, 0, data_coding, 0, len(message)))
        + message
        + tlvs
    )


class _SmppHandler(socketserver.BaseRequestHandler):
    server: _SmppTcpServer

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers go out as they are made
        self.write_lock = threading.Lock()
        self.bound = False

    def send(self, command_id: int, status: int, sequence: int, body: bytes = b"") -> None:
        with self.write_lock:
            self.request.sendall(struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body)

    def _read_exact(self, size: int) -> bytes:
        chunks, got = [], 0
        while got < size:
            chunk = self.request.recv(size - got)
            if not chunk:
                raise ConnectionError("client closed")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def handle(self) -> None:
        smsc = self.server.smsc
        smsc.connections.append(self)
        try:
            while True:
                length, command_id, _status, sequence = struct.unpack(">IIII", self._read_exact(16))
                body = self._read_exact(length - 16)
                if command_id in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
                    system_id, pos = _cstring(body, 0)
                    password, _ = _cstring(body, pos)
                    ok = (system_id.decode(), password.decode()) == (smsc.system_id, smsc.password)
                    self.bound = ok
                    smsc.binds.append((command_id, system_id.decode()))
                    self.send(command_id | RESP, 0 if ok else ESME_RINVPASWD, sequence, b"NavidTestSMSC\x00")
                elif command_id == SUBMIT_SM:
                    self._submit(body, sequence)
                elif command_id == ENQUIRE_LINK:
                    self.send(ENQUIRE_LINK | RESP, 0, sequence)
                elif command_id == UNBIND:
                    self.send(UNBIND | RESP, 0, sequence)
                    return
                elif command_id == DELIVER_SM | RESP:
                    smsc.deliver_responses.append(sequence)
                elif command_id & RESP:
                    continue
                else:
                    self.send(GENERIC_NACK, ESME_RINVCMDID, sequence)
        except (ConnectionError, OSError, struct.error):
            return
        finally:
            smsc.connections.remove(self)

    def _submit(self, body: bytes, sequence: int) -> None:
        smsc = self.server.smsc
        fields = parse_submit_sm(body)
        status = smsc.refuse.get(fields["destination"], 0)
        message_id = "" if status else f"{next(smsc.ids):010X}"
        with smsc.lock:
            smsc.submitted.append(Submitted(message_id=message_id, status=status, **fields))
        self.send(SUBMIT_SM | RESP, status, sequence, message_id.encode() + b"\x00")
        if smsc.auto_receipts and not status and fields["registered_delivery"]:
            smsc.push_receipt(
                message_id=message_id, destination=fields["source"], source=fields["destination"]
            )


class _SmppTcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    smsc: SmppServer


class SmppServer:
    """An SMS centre on 127.0.0.1 speaking SMPP 3.4: binds, submit_sm with message ids, enquire_link, unbind;
    pushes delivery receipts (optionally after each submit) and customers' messages as deliver_sm."""

    def __init__(
        self,
        *,
        system_id: str = "navid",
        password: str = "secret",  # noqa: S107 (the test server's own)
        auto_receipts: bool = False,
    ) -> None:
        self.system_id, self.password, self.auto_receipts = system_id, password, auto_receipts
        self.refuse: dict[str, int] = {}  # destination (digits) -> command status
        self.submitted: list[Submitted] = []
        self.binds: list[tuple[int, str]] = []
        self.deliver_responses: list[int] = []
        self.connections: list[_SmppHandler] = []
        self.ids = itertools.count(1)
        self.sequences = itertools.count(1)
        self.lock = threading.Lock()
        self.tcp = _SmppTcpServer(("127.0.0.1", 0), _SmppHandler)
        self.tcp.smsc = self
        self.host, self.port = "127.0.0.1", int(self.tcp.server_address[1])
        self.thread = threading.Thread(
            target=self.tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> SmppServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.tcp.shutdown()
        self.tcp.server_close()

    def _push(self, body: bytes) -> None:
        deadline = time.monotonic() + 5
        while not [c for c in self.connections if c.bound] and time.monotonic() < deadline:
            time.sleep(0.01)
        receivers = [c for c in self.connections if c.bound]
        if not receivers:
            raise RuntimeError("no bound client to deliver to")
        receivers[-1].send(DELIVER_SM, 0, next(self.sequences), body)

    def push_receipt(self, *, message_id: str, destination: str, source: str, stat: str = "DELIVRD") -> None:
        """Send a delivery receipt (esm_class 0x04) for a submitted message."""
        now = datetime.now(UTC).strftime("%y%m%d%H%M")
        delivered = "001" if stat == "DELIVRD" else "000"
        text = f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{now} done date:{now} stat:{stat} err:000 text:"
        state = 2 if stat == "DELIVRD" else 5
        tlvs = (
            struct.pack(">HH", 0x001E, len(message_id) + 1)
            + message_id.encode()
            + b"\x00"
            + struct.pack(">HHB", 0x0427, 1, state)
        )
        self._push(
            deliver_sm_body(
                source=source,
                destination=destination,
                esm_class=0x04,
                data_coding=0,
                message=text.encode(),
                tlvs=tlvs,
            )
        )

    def push_inbound(self, *, sender: str, text: str, destination: str = "NavidBank") -> None:
        """Send a customer's message to the bank, in UCS-2 unless it is plain ASCII."""
        if text.isascii():
            coding, data = 0, text.encode()
        else:
            coding, data = 8, text.encode("utf-16-be")
        self._push(
            deliver_sm_body(
                source=sender, destination=destination, esm_class=0, data_coding=coding, message=data
            )
        )


@pytest.fixture(name="smpp_server")
def smpp_server_fixture() -> Iterator[SmppServer]:
    server = SmppServer().start()
    yield server
    server.stop()


# HTTP SMS gateway ------------------------------------------------------------------------------------------------
@dataclass
class HttpGateway:
    """A JSON SMS gateway on 127.0.0.1: records each POST and answers with an id or the status set for a number."""

    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def start(self) -> HttpGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.received.append(payload)
                gateway.headers.append(dict(self.headers))
                status = gateway.refuse.get(payload["to"], 200)
                body = json.dumps(
                    {"id": f"gw-{len(gateway.received)}"} if status == 200 else {"error": "refused"}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="sms_gateway")
def sms_gateway_fixture() -> Iterator[HttpGateway]:
    gateway = HttpGateway().start()
    yield gateway
    gateway.stop()
