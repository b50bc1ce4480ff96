"""Customers' email replies: an SMTP server the bank's mail exchanger forwards replies to.

The bank routes mail for its reply address (for example a `replies.bank.example` MX record, or a forwarding rule
on the offers mailbox) to this server. Each message is parsed into an `InboundMail` and handed to `deliver`;
`deliver` decides what it means (campaigns match it to the message it answers through In-Reply-To / References).
When `deliver` fails the server answers 451, so the forwarding server keeps the reply and tries again: a reply is
never accepted and then lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

# Replies longer than this are refused by the server (552) before they are read: nobody answers an offer with
# a megabyte, and a bounded size keeps one hostile sender from filling the worker's memory.
MAX_BYTES = 1_000_000
# The text kept of a reply.
TEXT_KEPT = 2000
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class InboundMail:
    sender: str
    subject: str
    text: str
    answers: tuple[str, ...]  # the Message-IDs it replies to, In-Reply-To first
    received_at: datetime


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if body.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", content)
    return str(content)


def inbound_parse(content: bytes, *, received_at: datetime | None = None) -> InboundMail:
    """The sender, subject, text (quoted lines dropped) and the Message-IDs a raw message replies to."""
    message = message_from_bytes(content, policy=default_policy)
    assert isinstance(message, EmailMessage)  # the default policy's message class
    answers: list[str] = []
    for header in ("In-Reply-To", "References"):
        for found in _MESSAGE_ID.findall(str(message.get(header, ""))):
            if found not in answers:
                answers.append(found)
    text = "\n".join(
        line for line in _plain_text(message).splitlines() if not line.lstrip().startswith(">")
    ).strip()
    return InboundMail(
        sender=parseaddr(str(message.get("From", "")))[1].lower(),
        subject=str(message.get("Subject", ""))[:300],
        text=text[:TEXT_KEPT],
        answers=tuple(answers),
        received_at=received_at or datetime.now(UTC),
    )


class _Handler:
    def __init__(self, deliver: Callable[[InboundMail], Any]) -> None:
        self.deliver = deliver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            mail = inbound_parse(envelope.original_content or envelope.content)
            # In a thread of its own: `deliver` uses the database, which must not run inside the event loop.
            await asyncio.to_thread(self.deliver, mail)
        except Exception:
            # The sending server keeps the message and retries; the reason is in the log.
            log.exception("an inbound reply could not be handled; answered 451 so that it is sent again")
            return "451 4.3.0 The reply could not be stored now; try again later"
        return "250 Reply received"


def inbound_mail_start(
    *, deliver: Callable[[InboundMail], Any], host: str = "127.0.0.1", port: int = 2525
) -> Controller:
    """Start the reply server in a thread; stop it with `.stop()`."""
    controller = Controller(
        _Handler(deliver),
        hostname=host,
        port=port,
        ready_timeout=10,
        data_size_limit=MAX_BYTES,
    )
    controller.start()
    return controller
