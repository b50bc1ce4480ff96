"""Background work of the customers app."""

from celery import shared_task

from navid.customers.services import import_job_run


@shared_task(acks_late=True)
def import_customers(job_id: int) -> None:
    """Run one import job; a second delivery of the same job does nothing."""
    import_job_run(job_id=job_id)
