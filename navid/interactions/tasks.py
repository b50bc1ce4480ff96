"""Background work of the interactions app."""

from celery import shared_task

from navid.interactions.services import interaction_ingest_job_run


@shared_task(acks_late=True)
def ingest_interactions(job_id: int) -> None:
    """Run one ingest job; a second delivery resumes after the last committed batch or does nothing."""
    interaction_ingest_job_run(job_id=job_id)
