"""Background work of sales: campaign responses become leads (Celery beat, every 15 minutes)."""

from celery import shared_task

from navid.sales.services import campaign_responses_to_leads, leads_assign_unassigned


@shared_task(acks_late=True)
def leads_from_campaign_responses() -> int:
    """Create the leads of new campaign responses (set-based, once each), then assign any lead left unassigned
    because no manager was active when it was created. A second delivery creates nothing."""
    created = campaign_responses_to_leads()
    leads_assign_unassigned()
    return created
