"""Background work of the segments app: the nightly recompute of ranking, value and lifecycle."""

from celery import shared_task

from navid.segments.value_services import values_recompute


@shared_task(acks_late=True)
def recompute_values() -> None:
    """Recompute every customer's value; a second delivery recomputes again and upserts the same rows."""
    values_recompute()
