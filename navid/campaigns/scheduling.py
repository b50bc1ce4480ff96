"""The scheduler's part of campaigns: start the scheduled campaigns whose start time has come (Celery beat)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from navid.campaigns.models import Campaign, State
from navid.campaigns.services import campaign_start_due


@shared_task(acks_late=True)
def start_due_campaigns() -> list[int]:
    """Launch every scheduled campaign whose start is now or past; running it twice starts nothing twice."""
    due = Campaign.objects.filter(state=State.SCHEDULED, starts_at__lte=timezone.now()).values_list(
        "pk", flat=True
    )
    return [pk for pk in list(due) if campaign_start_due(campaign_id=pk)]
