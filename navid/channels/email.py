"""Email over SMTP: one connection reused for a batch, HTML and text parts, RFC 8058 one-click unsubscribe.

Exactly once: the adapter writes a message's whole DATA section except the final dot, then asks the sender's
commit point whether it may finish. Only then does it send the dot, the moment the server takes the message
on. A process killed before that moment leaves the server with an unfinished DATA section, which it throws away
when the connection closes; a process killed after it has already had the message recorded as sent. See
docs/channels.md for the window that remains.
"""

from __future__ import annotations

import base64
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

from navid.channels.base import ChannelUnavailable, Outgoing, SendResult
from navid.channels.hooks import CommitEnd, CommitPoint, Halt, commit_all, commit_end_nothing

SECURITY_MODES = ("none", "starttls", "ssl")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9.\-]")
_ENVELOPE = ("MAIL FROM", "RCPT TO", "DATA")
_EXPECTED = {"MAIL FROM": (250,), "RCPT TO": (250, 251), "DATA": (354,)}


def message_id_for(*, key: str, sender: str) -> str:
    """The Message-ID of the message with idempotency key `key`: the same on every attempt."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "navid.invalid"
    return f"<navid.{_UNSAFE_ID.sub('.', key)}@{domain}>"


def _header(value: str) -> str:
    """A header value, RFC 2047-encoded when it is not plain ASCII."""
    return value if value.isascii() else Header(value, "utf-8").encode(maxlinelen=998)


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def _part(content_type: str, text: str) -> bytes:
    encoded = base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")
    head = f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    return head.encode() + encoded


def email_build(message: Outgoing) -> bytes:
    """The message as sent: headers, a text part and an HTML alternative, base64 in UTF-8, CRLF line ends.

    Written directly rather than with email.message.EmailMessage, which took most of a worker's time per message.
    """
    boundary = f"=_navid_{hashlib.blake2b(message.key.encode(), digest_size=12).hexdigest()}"
    headers = [
        f"From: {_address(message.sender)}",
        f"To: {_address(message.to)}",
        f"Subject: {_header(message.subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {message_id_for(key=message.key, sender=message.sender)}",
        "MIME-Version: 1.0",
        *(f"{name}: {_header(value)}" for name, value in message.headers.items()),
    ]
    if not message.html:
        return ("\r\n".join(headers) + "\r\n").encode() + _part("text/plain", message.text)
    headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    delimiter = f"\r\n--{boundary}\r\n".encode()
    return (
        ("\r\n".join(headers) + "\r\n\r\n").encode()
        + delimiter[2:]
        + _part("text/plain", message.text)
        + delimiter
        + _part("text/html", message.html)
        + f"\r\n--{boundary}--\r\n".encode()
    )


class _Lost(Exception):
    """The connection dropped; `committed` says whether the message had passed its commit point."""

    def __init__(self, committed: bool) -> None:
        super().__init__("connection lost")
        self.committed = committed


class _Halted(Exception):
    """A group's commit point halted sending; `results` holds the answers the group already had."""

    def __init__(self, results: dict[int, SendResult]) -> None:
        super().__init__("sending halted")
        self.results = results


class SmtpAdapter:
    """Sends through one SMTP server over `connections` connections; reconnects once when one is dropped.

    With one connection, each message is its own SMTP transaction and has its own commit point. With several, the
    messages go in groups of `connections`, one per connection, step by step across the group (MAIL, RCPT and DATA
    on every connection, then every body), and the group has one commit point before its end-of-data dots, like
    a window of SMPP PDUs: one database transaction per group instead of one per message (docs/channels.md).
    """

    channel = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        security: str = "none",
        timeout: float = 30.0,
        connections: int = 1,
        commit_point: CommitPoint = commit_all,
        commit_end: CommitEnd = commit_end_nothing,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        if connections < 1:
            raise ValueError(f"SMTP connections must be at least 1, not {connections}")
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.security = security
        self.timeout = timeout
        self.connections = connections
        self.commit_point, self.commit_end = commit_point, commit_end
        self._pool: list[smtplib.SMTP | None] = [None] * connections

    @property
    def _smtp(self) -> smtplib.SMTP | None:
        """The first connection: the one a group of one message uses."""
        return self._pool[0]

    @_smtp.setter
    def _smtp(self, smtp: smtplib.SMTP | None) -> None:
        self._pool[0] = smtp

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            # The end-of-data dot goes in its own small write right after the body; without this, Nagle's
            # algorithm holds it back until the body is acknowledged (a delayed ACK: 40 ms per message).
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelUnavailable(f"SMTP login to {self.host}:{self.port} refused: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelUnavailable(f"cannot connect to SMTP server {self.host}:{self.port}: {exc}") from exc
        return smtp

    def _connection(self, index: int = 0) -> smtplib.SMTP:
        smtp = self._pool[index]
        if smtp is None:
            smtp = self._pool[index] = self._connect()
        return smtp

    def _drop(self, index: int = 0) -> None:
        """Close the socket without QUIT: an unfinished DATA section is discarded by the server."""
        smtp = self._pool[index]
        if smtp is not None:
            smtp.close()
            self._pool[index] = None

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Send each message in its own SMTP transaction, a group of `connections` messages at a time."""
        results: list[SendResult] = []
        size = self.connections
        for start in range(0, len(messages), size):
            group = messages[start : start + size]
            try:
                if len(group) == 1:
                    results.append(self._send_one(group[0]))
                else:
                    results += self._send_group(group)
            except (Halt, _Halted) as halt:
                # Leaves the DATA sections at hand unfinished: the server drops them.
                for index in range(self.connections):
                    self._drop(index)
                known = halt.results if isinstance(halt, _Halted) else {}
                results += [
                    known.get(index) or SendResult(key=m.key, ok=False, error="not sent: sending halted")
                    for index, m in enumerate(group)
                ]
                results += [
                    SendResult(key=m.key, ok=False, error="not sent: sending halted")
                    for m in messages[start + size :]
                ]
                break
        return results

    def _step(
        self, active: dict[int, smtplib.SMTP], commands: dict[int, list[str]], lost: set[int]
    ) -> dict[int, list[tuple[int, bytes]]]:
        """Write each connection's commands, then read their replies: one round trip for the whole group.

        A connection that fails is dropped from `active` and added to `lost`."""
        for index, lines in commands.items():
            try:
                active[index].send("".join(f"{line}\r\n" for line in lines))
            except (smtplib.SMTPServerDisconnected, OSError):
                lost.add(index)
        replies: dict[int, list[tuple[int, bytes]]] = {}
        for index, lines in commands.items():
            if index in lost:
                continue
            try:
                replies[index] = [active[index].getreply() for _ in lines]
            except (smtplib.SMTPServerDisconnected, OSError):
                lost.add(index)
        for index in lost:
            active.pop(index, None)
            self._drop(index)
        return replies

    def _send_group(self, group: Sequence[Outgoing]) -> list[SendResult]:
        """Send a group of messages at once, one per connection, with one commit point for the group."""
        results: dict[int, SendResult] = {}
        active = {index: self._connection(index) for index in range(len(group))}
        lost: set[int] = set()  # dropped before the commit point: tried again alone
        bodies: dict[int, bytes] = {}
        for index, message in enumerate(group):
            data = _LEADING_DOT.sub(b"..", email_build(message))
            bodies[index] = data if data.endswith(b"\r\n") else data + b"\r\n"
        envelope = {
            index: [
                f"MAIL FROM:{smtplib.quoteaddr(parseaddr(message.sender)[1])}",
                f"RCPT TO:{smtplib.quoteaddr(message.to)}",
                "DATA",
            ]
            for index, message in enumerate(group)
        }
        pipelined = {index for index, smtp in active.items() if smtp.has_extn("pipelining")}
        if pipelined:  # RFC 2920: MAIL, RCPT and DATA in one write, their three replies read after
            replies = self._step(active, {index: envelope[index] for index in pipelined}, lost)
            for index, answers in replies.items():
                self._envelope_replies(active, index, group[index], _ENVELOPE, answers, results)
        for step, name in enumerate(_ENVELOPE):  # otherwise one step at a time, each across the group
            going = [index for index in active if index not in pipelined]
            if not going:
                break
            replies = self._step(active, {index: [envelope[index][step]] for index in going}, lost)
            for index, answers in replies.items():
                self._envelope_replies(active, index, group[index], (name,), answers, results)
        for index in list(active):
            try:
                active[index].send(bodies[index])
            except (smtplib.SMTPServerDisconnected, OSError):
                lost.add(index)
                del active[index]
                self._drop(index)
        if active:
            try:
                allowed = self.commit_point([group[index].key for index in active])
            except Halt as exc:
                raise _Halted(results) from exc
            for index in list(active):
                if group[index].key not in allowed:
                    del active[index]
                    self._drop(index)  # no longer this sender's to send: leave DATA unfinished
                    results[index] = SendResult(
                        key=group[index].key, ok=False, error="not sent: no longer held by this sender"
                    )
            self._finish(active, group, results)
        # Connections lost before the commit point: nothing reached the server, so each goes again alone.
        for index in sorted(lost):
            try:
                results[index] = self._send_one(group[index])
            except Halt as exc:
                # The messages of the group already sent keep their results: they passed their commit point.
                raise _Halted(results) from exc
        return [results[index] for index in range(len(group))]

    def _envelope_replies(
        self,
        active: dict[int, smtplib.SMTP],
        index: int,
        message: Outgoing,
        names: Sequence[str],
        replies: list[tuple[int, bytes]],
        results: dict[int, SendResult],
    ) -> None:
        """Check the replies to the envelope's steps `names`; a refused message leaves `active` with its result."""
        for name, (code, reply) in zip(names, replies, strict=True):
            if code in _EXPECTED[name]:
                continue
            smtp = active.pop(index)
            if any(answer == 354 for answer, _ in replies):
                self._drop(index)  # the server took DATA all the same: leave it unfinished
                results[index] = self._refusal(message, code, reply, name)
            else:
                results[index] = self._refused(smtp, message, code, reply, name, index=index)
            return

    def _finish(
        self, active: dict[int, smtplib.SMTP], group: Sequence[Outgoing], results: dict[int, SendResult]
    ) -> None:
        """The group's point of no return: every dot, the commit right after, then the answers."""
        sockets = [(index, smtp.sock) for index, smtp in active.items()]
        doubtful: set[int] = set()
        try:
            for index, sock in sockets:  # nothing but socket writes between the first dot and the commit
                try:
                    if sock is None:
                        raise OSError("not connected")
                    sock.sendall(b".\r\n")
                except OSError:
                    doubtful.add(index)
        finally:
            self.commit_end()
        for index, smtp in active.items():
            message = group[index]
            message_id = message_id_for(key=message.key, sender=message.sender)
            if index not in doubtful:
                try:
                    code, reply = smtp.getreply()
                except (smtplib.SMTPServerDisconnected, OSError):
                    doubtful.add(index)
            if index in doubtful:
                self._drop(index)
                results[index] = SendResult(
                    key=message.key,
                    ok=True,
                    provider_id=message_id,
                    error="connection lost after the end of data; counted as sent",
                )
            elif code == 250:
                results[index] = SendResult(key=message.key, ok=True, provider_id=message_id)
            else:
                results[index] = self._refusal(message, code, reply, "end of data")

    def _send_one(self, message: Outgoing) -> SendResult:
        data = email_build(message)
        body = _LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        message_id = message_id_for(key=message.key, sender=message.sender)
        for attempt in (1, 2):
            smtp = self._connection()
            try:
                return self._transaction(smtp, message, body, message_id)
            except _Lost as lost:
                self._drop()
                if lost.committed:
                    # The dot may or may not have reached the server; the message is recorded as sent and is
                    # never tried again, so that it cannot arrive twice.
                    return SendResult(
                        key=message.key,
                        ok=True,
                        provider_id=message_id,
                        error="connection lost after the end of data; counted as sent",
                    )
                if attempt == 2:
                    raise ChannelUnavailable(
                        f"SMTP server {self.host}:{self.port} keeps dropping the connection"
                    ) from lost
        raise AssertionError("unreachable")

    def _transaction(self, smtp: smtplib.SMTP, message: Outgoing, body: bytes, message_id: str) -> SendResult:
        envelope_from = parseaddr(message.sender)[1]
        committed = False
        try:
            code, reply = smtp.mail(envelope_from)
            if code != 250:
                return self._refused(smtp, message, code, reply, "MAIL FROM")
            code, reply = smtp.rcpt(message.to)
            if code not in (250, 251):
                return self._refused(smtp, message, code, reply, "RCPT TO")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                return self._refused(smtp, message, code, reply, "DATA")
            smtp.send(body)
            if message.key not in self.commit_point([message.key]):
                self._drop()  # the message is no longer this sender's to send: leave DATA unfinished
                return SendResult(key=message.key, ok=False, error="not sent: no longer held by this sender")
            committed = True
            try:
                smtp.send(b".\r\n")
            finally:
                self.commit_end()  # right after the dot, before waiting for the server's answer
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Lost(committed) from exc
        if code == 250:
            return SendResult(key=message.key, ok=True, provider_id=message_id)
        return self._refused(smtp, message, code, reply, "end of data", reset=False)

    def _refused(
        self,
        smtp: smtplib.SMTP,
        message: Outgoing,
        code: int,
        reply: bytes,
        step: str,
        reset: bool = True,
        index: int = 0,
    ) -> SendResult:
        if reset:
            try:
                smtp.rset()
            except (smtplib.SMTPServerDisconnected, OSError):
                self._drop(index)
        return self._refusal(message, code, reply, step)

    @staticmethod
    def _refusal(message: Outgoing, code: int, reply: bytes, step: str) -> SendResult:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return SendResult(
            key=message.key,
            ok=False,
            permanent=500 <= code < 600,
            error=f"{step}: {code} {text}"[:500],
        )

    def close(self) -> None:
        """Say goodbye to the server on every open connection."""
        for index, smtp in enumerate(self._pool):
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
                self._pool[index] = None
