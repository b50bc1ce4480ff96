"""What a sender lets an adapter call back while it sends: the point of no return, and messages that arrive.

These are plain callables so that adapters stay ignorant of outboxes: the worker that owns the messages
decides what "committing" a message means (in Navid, recording it as sent in the database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt from the provider for a message it accepted earlier."""

    provider_id: str
    delivered: bool
    at: datetime
    status: str = ""


@dataclass(frozen=True)
class Inbound:
    """A message a customer sent to the bank (an SMS reply)."""

    sender: str
    text: str
    at: datetime


class Halt(Exception):
    """Raised by a commit point to stop the batch at once (the campaign was paused or stopped): the adapter sends
    nothing more and reports the message at hand and every later one as not sent."""


# Called with the keys of messages an adapter is about to hand over irrevocably (before the SMTP end-of-data
# dot, before a window of submit_sm PDUs); answers the keys that may go. A key it leaves out must not be sent.
# The sender may keep what it recorded provisional (an open database transaction) until the adapter calls the
# matching CommitEnd right after the irrevocable write, whether that write succeeded or raised.
CommitPoint = Callable[[Sequence[str]], set[str]]
CommitEnd = Callable[[], None]
# Called for each receipt or inbound message read from the provider's connection.
OnDeliver = Callable[[Receipt | Inbound], None]


def commit_all(keys: Sequence[str]) -> set[str]:
    """The commit point of a sender that records nothing beforehand: every message may go."""
    return set(keys)


def commit_end_nothing() -> None:
    """The commit end of a sender whose commit point is final by itself."""
    return None


def deliver_ignore(event: Receipt | Inbound) -> None:
    """For senders that read receipts elsewhere (a separate listener)."""
    return None
