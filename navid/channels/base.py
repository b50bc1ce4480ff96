"""The one interface every channel adapter implements; adapters know nothing of campaigns.

A worker hands an adapter a batch of `Outgoing` messages and gets one `SendResult` per message, in the same
order. An adapter never raises for one bad message: it reports it in that message's result, and raises only
when the whole channel is unusable (the server is down), so that the batch is claimed again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One rendered message, ready for a channel."""

    key: str  # the outbox idempotency key; adapters pass it on to the provider where the protocol allows
    to: str  # email address, E.164 phone number or postal address
    language: str
    text: str
    subject: str = ""
    html: str = ""
    sender: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What became of one message."""

    key: str
    ok: bool
    provider_id: str = ""
    # True when retrying cannot help (hard bounce, invalid number): the address is marked invalid.
    permanent: bool = False
    error: str = ""
    parts: int = 1  # SMS segments or pages, for the cost


class ChannelUnavailable(Exception):
    """The channel cannot send at all right now (connection refused, login failed); the batch is retried."""


class Adapter(Protocol):
    """A channel provider: SMTP server, SMPP centre, HTTP gateway, print house."""

    channel: str

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Send the messages and report each one's result, in order."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
