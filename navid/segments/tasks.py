"""Background work of segments: snapshots, and the nightly recompute of ranking, value and lifecycle."""

from celery import shared_task

from navid.segments.services import snapshot_take
from navid.segments.value_services import values_recompute


@shared_task(acks_late=True)
def take_snapshot(snapshot_id: int) -> None:
    """Freeze one requested snapshot; a second delivery does nothing."""
    snapshot_take(snapshot_id=snapshot_id)


@shared_task(acks_late=True)
def recompute_values() -> None:
    """Recompute every customer's value; a second delivery recomputes again and upserts the same rows."""
    values_recompute()
