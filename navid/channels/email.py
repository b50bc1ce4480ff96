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


class SmtpAdapter:
    """Sends through one SMTP server; reconnects once when the server drops the connection."""

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
        commit_point: CommitPoint = commit_all,
        commit_end: CommitEnd = commit_end_nothing,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.security = security
        self.timeout = timeout
        self.commit_point, self.commit_end = commit_point, commit_end
        self._smtp: smtplib.SMTP | None = None

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

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _drop(self) -> None:
        """Close the socket without QUIT: an unfinished DATA section is discarded by the server."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Send each message in its own SMTP transaction over one connection."""
        results: list[SendResult] = []
        for index, message in enumerate(messages):
            try:
                results.append(self._send_one(message))
            except Halt:
                self._drop()  # leaves the DATA section of the message at hand unfinished: the server drops it
                results += [
                    SendResult(key=m.key, ok=False, error="not sent: sending halted")
                    for m in messages[index:]
                ]
                break
        return results

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
        self, smtp: smtplib.SMTP, message: Outgoing, code: int, reply: bytes, step: str, reset: bool = True
    ) -> SendResult:
        if reset:
            try:
                smtp.rset()
            except (smtplib.SMTPServerDisconnected, OSError):
                self._drop()
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return SendResult(
            key=message.key,
            ok=False,
            permanent=500 <= code < 600,
            error=f"{step}: {code} {text}"[:500],
        )

    def close(self) -> None:
        """Say goodbye to the server."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
