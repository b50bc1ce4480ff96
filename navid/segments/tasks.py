"""Background work of segments."""

from celery import shared_task

from navid.segments.services import snapshot_take


@shared_task(acks_late=True)
def take_snapshot(snapshot_id: int) -> None:
    """Freeze one requested snapshot; a second delivery does nothing."""
    snapshot_take(snapshot_id=snapshot_id)
