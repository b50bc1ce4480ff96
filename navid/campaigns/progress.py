"""Selector of a campaign's sending progress, polled by the campaign page while it runs."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from navid.campaigns.models import OutboxMessage, OutboxState

# Messages in these states will not change any more (a receipt may still turn SENT into DELIVERED or FAILED).
DONE_STATES = (
    OutboxState.SENT,
    OutboxState.DELIVERED,
    OutboxState.FAILED,
    OutboxState.BOUNCED,
    OutboxState.SKIPPED,
    OutboxState.CANCELLED,
)


def campaign_progress(*, campaign_id: int) -> dict[str, Any]:
    """Counts per state and per channel, the total, and the percentage of messages done (one GROUP BY)."""
    rows = (
        OutboxMessage.objects.filter(campaign_id=campaign_id)
        .values("channel", "state")
        .annotate(n=Count("id"))
        .order_by("channel", "state")
    )
    states = {state.value: 0 for state in OutboxState}
    channels: dict[str, dict[str, int]] = {}
    for row in rows:
        states[row["state"]] += row["n"]
        channel = channels.setdefault(row["channel"], {state.value: 0 for state in OutboxState})
        channel[row["state"]] += row["n"]
    total = sum(states.values())
    done = sum(states[state] for state in DONE_STATES)
    return {
        "total": total,
        "done": done,
        "percent": round(100 * done / total, 1) if total else 0.0,
        "states": states,
        "channels": {
            name: {"total": sum(counts.values()), "states": counts}
            for name, counts in sorted(channels.items())
        },
    }
