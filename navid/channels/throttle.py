"""A rate limit per sender shared by every worker process, kept in the database (no Redis needed).

It is the generic cell rate algorithm: one row per sender holds the theoretical time at which the next message may
go. Reserving n messages at r per second moves that time on by n / r in one UPDATE and tells the caller how long
to wait before its batch starts. One row write per batch (not per message) keeps the cost negligible next to the
sending itself, and it works the same on SQLite (one writer) and PostgreSQL (the row lock orders workers).
"""

from __future__ import annotations

import time

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from navid.channels.models import SendRate


def send_rate_reserve(*, key: str, count: int, per_second: float, now: float | None = None) -> float:
    """Reserve `count` sends for `key` at `per_second`; answer the seconds to wait before sending them."""
    if per_second <= 0:
        raise ValueError(f"a send rate must be positive, not {per_second}")
    if count <= 0:
        return 0.0
    cost = count / per_second
    moment = time.time() if now is None else now
    if not SendRate.objects.filter(key=key).exists():
        # Two workers may both get here; the conflict leaves exactly one row.
        SendRate.objects.bulk_create([SendRate(key=key, next_at=0.0)], ignore_conflicts=True)
    with transaction.atomic():
        SendRate.objects.filter(key=key).update(next_at=Greatest(F("next_at"), Value(moment)) + Value(cost))
        next_at = SendRate.objects.values_list("next_at", flat=True).get(key=key)
    return max(0.0, next_at - cost - moment)


def send_rate_forget(*, key: str) -> None:
    """Drop the allowance of a sender that is done."""
    SendRate.objects.filter(key=key).delete()
