"""SMS over SMPP 3.4 (smpplib): GSM-7 or UCS-2, concatenated long messages, a window of submits, receipts.

Latin text goes out in the GSM 7-bit default alphabet (data_coding 0, one septet per octet as SMPP carries it);
anything else (Persian, Russian) in UCS-2 (data_coding 8). A message longer than one part is split with a
concatenation UDH (8-bit reference), never inside a GSM escape pair or a UTF-16 surrogate pair.

Throughput comes from the window: up to `window` submit_sm PDUs are written before the adapter waits for their
responses, instead of one round trip per message. Delivery receipts and customers' replies arriving on the same
(transceiver) connection are handed to `on_deliver`.
"""

from __future__ import annotations

import hashlib
import re
import select
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from navid.channels.base import ChannelUnavailable, Outgoing, SendResult
from navid.channels.hooks import (
    CommitEnd,
    CommitPoint,
    Halt,
    Inbound,
    OnDeliver,
    Receipt,
    commit_all,
    commit_end_nothing,
    deliver_ignore,
)

# GSM 03.38 default alphabet, by code; and the extension table reached with ESC (0x1B).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E}
GSM_EXTENSION |= {"|": 0x40, "€": 0x65}
_GSM_CODE = {char: code for code, char in enumerate(GSM_BASIC) if char != "\x1b"}
_GSM_CHAR = {code: char for char, code in _GSM_CODE.items()}
_GSM_EXT_CHAR = {code: char for char, code in GSM_EXTENSION.items()}

DATA_CODING_GSM7 = 0
DATA_CODING_UCS2 = 8
ESM_UDHI = 0x40
ESM_RECEIPT = 0x04
# Single-part and per-part limits: septets for GSM-7, UTF-16 code units for UCS-2.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# submit_sm statuses that retrying cannot cure: the number is wrong.
PERMANENT_STATUSES = {
    smpplib.consts.SMPP_ESME_RINVDSTADR,
    smpplib.consts.SMPP_ESME_RINVDSTTON,
    smpplib.consts.SMPP_ESME_RINVDSTNPI,
}


def gsm7_encodable(text: str) -> bool:
    """Whether every character of `text` exists in the GSM 7-bit alphabet (with its extension)."""
    return all(char in _GSM_CODE or char in GSM_EXTENSION for char in text)


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM-7: one octet per septet, extension characters as ESC + code."""
    out = bytearray()
    for char in text:
        if char in _GSM_CODE:
            out.append(_GSM_CODE[char])
        else:
            out += bytes((0x1B, GSM_EXTENSION[char]))
    return bytes(out)


def gsm7_decode(data: bytes) -> str:
    """The text of unpacked GSM-7 octets."""
    chars, escaped = [], False
    for octet in data:
        if escaped:
            chars.append(_GSM_EXT_CHAR.get(octet, " "))
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            chars.append(_GSM_CHAR.get(octet & 0x7F, "?"))
    return "".join(chars)


@dataclass(frozen=True)
class SmsParts:
    """How one text travels: its data coding, its ESM class and the short_message of each part."""

    data_coding: int
    esm_class: int
    parts: list[bytes]


def _chunks(units: list[bytes], limit: int) -> list[bytes]:
    """Join encoded characters into chunks of at most `limit` units, a character never split."""
    chunks: list[bytes] = []
    current, size = bytearray(), 0
    for unit in units:
        width = len(unit)
        if size + width > limit:
            chunks.append(bytes(current))
            current, size = bytearray(), 0
        current += unit
        size += width
    chunks.append(bytes(current))
    return chunks


def sms_parts(text: str, *, reference: int = 0) -> SmsParts:
    """Encode `text` for SMPP: GSM-7 when it can, otherwise UCS-2; split with a concatenation UDH when long."""
    if gsm7_encodable(text):
        units = [gsm7_encode(char) for char in text]
        coding, single, per_part, unit_size = DATA_CODING_GSM7, GSM7_SINGLE, GSM7_PART, 1
    else:
        units = [char.encode("utf-16-be") for char in text]
        coding, single, per_part, unit_size = DATA_CODING_UCS2, UCS2_SINGLE, UCS2_PART, 2
    total = sum(len(unit) for unit in units) // unit_size
    if total <= single:
        return SmsParts(data_coding=coding, esm_class=0, parts=[b"".join(units)])
    chunks = _chunks(units, per_part * unit_size)
    if len(chunks) > 255:
        raise ValueError("an SMS cannot have more than 255 parts")
    header = bytes((0x05, 0x00, 0x03, reference & 0xFF, len(chunks)))
    return SmsParts(
        data_coding=coding,
        esm_class=ESM_UDHI,
        parts=[header + bytes((number,)) + chunk for number, chunk in enumerate(chunks, start=1)],
    )


def sms_part_count(text: str) -> int:
    """How many SMS parts `text` costs."""
    return len(sms_parts(text).parts)


def short_message_text(*, short_message: bytes, data_coding: int, esm_class: int) -> str:
    """The text of a received short_message, without its UDH."""
    if esm_class & ESM_UDHI and short_message:
        short_message = short_message[1 + short_message[0] :]
    if data_coding == DATA_CODING_UCS2:
        return short_message.decode("utf-16-be", "replace")
    if data_coding == DATA_CODING_GSM7:
        return gsm7_decode(short_message)
    return short_message.decode("latin-1")


_RECEIPT_ID = re.compile(r"\bid:(\S+)", re.IGNORECASE)
_RECEIPT_STAT = re.compile(r"\bstat:(\S+)", re.IGNORECASE)
# TLVs of a receipt (SMPP 3.4, 5.3.2.12 and 5.3.2.35).
TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_MESSAGE_STATE = 0x0427
MESSAGE_STATE_DELIVERED = 2


def receipt_parse(*, text: str, at: datetime) -> Receipt | None:
    """A receipt from the usual `id:... stat:DELIVRD ...` text of a deliver_sm, or None when it has no id."""
    found = _RECEIPT_ID.search(text)
    if found is None:
        return None
    status = _RECEIPT_STAT.search(text)
    stat = status.group(1).upper() if status else ""
    return Receipt(provider_id=found.group(1), delivered=stat == "DELIVRD", at=at, status=stat)


def _reference(key: str) -> int:
    """The concatenation reference of a message: derived from its key, so a resend would carry the same one."""
    return hashlib.blake2b(key.encode(), digest_size=1).digest()[0]


class _Client(smpplib.client.Client):
    """smpplib's client, reading PDUs through the adapter instead of its handler callbacks."""


class SmppAdapter:
    """Sends through one SMPP bind (transceiver by default), `window` submits in flight at a time."""

    channel = "sms"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        system_id: str,
        password: str,
        system_type: str = "",
        bind: str = "transceiver",
        window: int = 32,
        timeout: float = 10.0,
        source_ton: int = 5,
        commit_point: CommitPoint = commit_all,
        commit_end: CommitEnd = commit_end_nothing,
        on_deliver: OnDeliver = deliver_ignore,
    ) -> None:
        if bind not in ("transceiver", "transmitter"):
            raise ValueError(f"SMPP bind must be transceiver or transmitter, not {bind!r}")
        if window < 1:
            raise ValueError("the SMPP window must be at least 1")
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.bind, self.window, self.timeout, self.source_ton = bind, window, timeout, source_ton
        self.commit_point, self.commit_end, self.on_deliver = commit_point, commit_end, on_deliver
        self._client: _Client | None = None
        self._committed: set[str] = set()

    # Connection ---------------------------------------------------------------------------------------------
    def _connect(self) -> _Client:
        client = _Client(self.host, self.port, timeout=self.timeout, allow_unknown_opt_params=True)
        try:
            client.connect()
            client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the last PDU of a window
            binder = client.bind_transceiver if self.bind == "transceiver" else client.bind_transmitter
            binder(system_id=self.system_id, password=self.password, system_type=self.system_type)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
            client.disconnect()
            raise ChannelUnavailable(f"cannot bind to SMPP server {self.host}:{self.port}: {exc}") from exc
        return client

    def _connection(self) -> _Client:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client = None

    def close(self) -> None:
        """Unbind and disconnect."""
        if self._client is None:
            return
        client = self._client
        try:
            client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
            deadline = 20
            while deadline:  # answer receipts still queued until the unbind_resp arrives
                pdu = self._read(client)
                if pdu.command == "unbind_resp":
                    break
                deadline -= 1
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError, TimeoutError):
            pass  # the connection is going away in any case; disconnect below
        self._drop()

    # Reading ------------------------------------------------------------------------------------------------
    def _read(self, client: _Client) -> smpplib.command.Command:
        """Read one PDU; answer the SMSC's own requests (deliver_sm, enquire_link) and pass deliveries on."""
        try:
            pdu = client.read_pdu()
        except TimeoutError as exc:
            raise smpplib.exceptions.ConnectionError("SMPP server stopped answering") from exc
        if pdu.command == "deliver_sm":
            self._deliver(client, pdu)
        elif pdu.command == "enquire_link":
            resp = smpplib.smpp.make_pdu("enquire_link_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        return pdu

    def _deliver(self, client: _Client, pdu: smpplib.command.Command) -> None:
        at = datetime.now(UTC)
        message = bytes(pdu.short_message or b"")
        text = short_message_text(
            short_message=message, data_coding=int(pdu.data_coding or 0), esm_class=int(pdu.esm_class or 0)
        )
        event: Receipt | Inbound | None
        if int(pdu.esm_class or 0) & ESM_RECEIPT:
            event = receipt_parse(text=text, at=at)
            receipted = getattr(pdu, "receipted_message_id", None)
            state = getattr(pdu, "message_state", None)
            if receipted:
                provider_id = receipted.decode() if isinstance(receipted, bytes) else str(receipted)
                provider_id = provider_id.rstrip("\x00")
                delivered = (
                    int(state) == MESSAGE_STATE_DELIVERED
                    if state is not None
                    else bool(event and event.delivered)
                )
                event = Receipt(
                    provider_id=provider_id, delivered=delivered, at=at, status=event.status if event else ""
                )
        else:
            source = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) else str(pdu.source_addr)
            event = Inbound(sender=source, text=text, at=at)
        resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=client)
        resp.sequence = pdu.sequence
        if event is not None:
            self.on_deliver(event)  # an error here leaves the receipt unanswered, so the SMSC sends it again
        client.send_pdu(resp)

    def poll(self, seconds: float = 0.0) -> None:
        """Read what the SMSC sends (receipts, replies) for up to `seconds`, answering each.

        ChannelUnavailable when the link is lost (the connection is dropped; the next call binds again)."""
        client = self._connection()
        waited = False
        try:
            while True:
                sock = client._socket
                readable, _, _ = select.select([sock], [], [], 0 if waited else seconds)
                if not readable:
                    return
                waited = True
                self._read(client)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError, ValueError) as exc:
            self._drop()
            raise ChannelUnavailable(f"lost the SMPP link to {self.host}:{self.port}: {exc}") from exc

    def keepalive(self) -> None:
        """Check an idle link with enquire_link; ChannelUnavailable when it is gone."""
        client = self._connection()
        try:
            client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
            for _ in range(50):  # receipts queued before the answer are read and passed on first
                if self._read(client).command == "enquire_link_resp":
                    return
            raise smpplib.exceptions.ConnectionError("no answer to enquire_link")
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError, ValueError) as exc:
            self._drop()
            raise ChannelUnavailable(f"lost the SMPP link to {self.host}:{self.port}: {exc}") from exc

    # Sending ------------------------------------------------------------------------------------------------
    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Submit every part of every message, `window` PDUs in flight, and report each message's result."""
        results: dict[str, SendResult] = {}
        self._committed = set()
        encoded = [
            (message, sms_parts(message.text, reference=_reference(message.key))) for message in messages
        ]
        try:
            client = self._connection()
            start = 0
            while start < len(encoded):
                group: list[tuple[Outgoing, SmsParts]] = []
                parts_in_group = 0
                while start < len(encoded) and (
                    not group or parts_in_group + len(encoded[start][1].parts) <= self.window
                ):
                    group.append(encoded[start])
                    parts_in_group += len(encoded[start][1].parts)
                    start += 1
                self._submit_group(client, group, results)
        except Halt:
            for message, _ in encoded:
                results.setdefault(
                    message.key, SendResult(key=message.key, ok=False, error="not sent: sending halted")
                )
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
            self._drop()
            if not results and not self._committed:
                raise ChannelUnavailable(f"SMPP server {self.host}:{self.port}: {exc}") from exc
            for message, encoded_message in encoded:
                if message.key in results:
                    continue
                if message.key in self._committed:
                    # Its PDUs may have reached the SMSC: counted as sent, so that it can never go twice.
                    results[message.key] = SendResult(
                        key=message.key,
                        ok=True,
                        error=f"SMPP connection lost before the answer; counted as sent: {exc}"[:500],
                        parts=len(encoded_message.parts),
                    )
                else:
                    results[message.key] = SendResult(
                        key=message.key, ok=False, error=f"not sent, SMPP connection lost: {exc}"[:500]
                    )
        finally:
            self._committed = set()
        return [results[message.key] for message in messages]

    def _submit_group(
        self, client: _Client, group: list[tuple[Outgoing, SmsParts]], results: dict[str, SendResult]
    ) -> None:
        allowed = self.commit_point([message.key for message, _ in group])
        self._committed |= allowed
        outstanding: dict[int, tuple[str, int]] = {}
        answers: dict[str, dict[int, tuple[int, str]]] = {}
        try:
            for message, encoded in group:
                if message.key not in allowed:
                    results[message.key] = SendResult(
                        key=message.key, ok=False, error="not sent: no longer held by this sender"
                    )
                    continue
                answers[message.key] = {}
                for number, part in enumerate(encoded.parts):
                    pdu = client.send_message(
                        source_addr_ton=self.source_ton,
                        source_addr_npi=0,
                        source_addr=message.sender,
                        dest_addr_ton=1,
                        dest_addr_npi=1,
                        destination_addr=message.to.lstrip("+"),
                        short_message=part,
                        data_coding=encoded.data_coding,
                        esm_class=encoded.esm_class,
                        registered_delivery=1,
                    )
                    outstanding[pdu.sequence] = (message.key, number)
        finally:
            self.commit_end()  # right after the window's PDUs, before reading their answers
        parts_of = {message.key: len(encoded.parts) for message, encoded in group}
        while outstanding:
            pdu = self._read(client)
            if pdu.command not in ("submit_sm_resp", "generic_nack") or pdu.sequence not in outstanding:
                continue
            key, number = outstanding.pop(pdu.sequence)
            raw_id = getattr(pdu, "message_id", None) or b""
            message_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            answers[key][number] = (int(pdu.status), message_id.rstrip("\x00"))
        for key, replies in answers.items():
            failed = [status for status, _ in replies.values() if status != smpplib.consts.SMPP_ESME_ROK]
            if failed:
                status = failed[0]
                results[key] = SendResult(
                    key=key,
                    ok=False,
                    permanent=status in PERMANENT_STATUSES,
                    error=f"submit_sm: {smpplib.consts.DESCRIPTIONS.get(status, 'error')} (0x{status:08X})",
                    parts=parts_of[key],
                )
            else:
                # Receipts are matched on the first part's id; the parts of one message travel together.
                results[key] = SendResult(key=key, ok=True, provider_id=replies[0][1], parts=parts_of[key])
