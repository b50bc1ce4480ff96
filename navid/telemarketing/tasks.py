"""Background work of telemarketing."""

from __future__ import annotations

from celery import shared_task

from navid.telemarketing.services import stale_release


@shared_task(acks_late=True)
def release_stale_calls() -> int:
    """Record the calls whose lease ran out and put their customers back in the queue; answer how many."""
    return stale_release()
