"""Background work of campaigns: launching (materialise, then send) and sending each channel's outbox.

Every task takes ids and can run twice: the outbox in the database, not the broker, says what is sent.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from navid.campaigns.attribution import attribution_recompute
from navid.campaigns.events import event_invitations_sync
from navid.campaigns.execution import campaign_complete_if_done, channel_send
from navid.campaigns.materialise import campaign_materialise
from navid.campaigns.models import Campaign, CampaignChannel, ChannelPlan, Event, ResultSnapshot, State
from navid.campaigns.results import CampaignResults, results_current, results_recount

# A send task hands over to a fresh one after this long, so that a long campaign does not pin one worker slot
# and a deployment can restart workers between slices.
SLICE_SECONDS = 120.0
UNAVAILABLE_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 3600


@shared_task(acks_late=True)
def send_channel(campaign_id: int, channel: str) -> str:
    """Send the campaign channel's due messages; re-enqueue itself while work remains; answer why it stopped."""
    report = channel_send(campaign_id=campaign_id, channel=channel, max_seconds=SLICE_SECONDS)
    if report.reason == "time":
        send_channel.delay(campaign_id, channel)
    elif report.reason == "unavailable":
        send_channel.apply_async((campaign_id, channel), countdown=UNAVAILABLE_RETRY_SECONDS)
    elif report.reason == "done" and report.next_due_in is not None:
        # Messages waiting for their time (quiet hours, a retry, another worker's lease): come back then.
        countdown = min(LONGEST_WAIT_SECONDS, max(1, int(report.next_due_in) + 1))
        send_channel.apply_async((campaign_id, channel), countdown=countdown)
    campaign_complete_if_done(campaign_id=campaign_id)
    return report.reason


@shared_task(acks_late=True)
def send_campaign(campaign_id: int) -> int:
    """Start the send tasks of every channel of a running campaign (several per channel); answer how many."""
    if not Campaign.objects.filter(pk=campaign_id, state=State.RUNNING).exists():
        return 0
    # Phone rows are the campaign's call list: agents and the dialer process of navid.telemarketing call them.
    channels = list(
        ChannelPlan.objects.filter(campaign_id=campaign_id)
        .exclude(channel=CampaignChannel.PHONE)
        .values_list("channel", flat=True)
    )
    for channel in channels:
        for _ in range(settings.NAVID_SEND_WORKERS_PER_CHANNEL):
            send_channel.delay(campaign_id, channel)
    return len(channels) * settings.NAVID_SEND_WORKERS_PER_CHANNEL


@shared_task(acks_late=True)
def launch_campaign(campaign_id: int) -> int:
    """Write the running campaign's first wave (decisions and outbox), then start sending it."""
    if not Campaign.objects.filter(pk=campaign_id, state=State.RUNNING).exists():
        return 0
    campaign_materialise(
        campaign_id=campaign_id, wave=1
    )  # a second call for the same wave writes nothing more
    event_id = Event.objects.filter(campaign_id=campaign_id).values_list("pk", flat=True).first()
    if event_id is not None:
        event_invitations_sync(event_id=event_id)  # the guest list is the treatment group; safe to repeat
    return int(send_campaign(campaign_id))


# Responses and conversions are recounted while a campaign runs and for one response window after it ends.
ATTRIBUTION_AFTER_END_DAYS = 366


@shared_task(acks_late=True)
def recompute_attribution() -> int:
    """Recount responses and conversions of running and recently finished campaigns; answer how many."""
    since = timezone.now() - timedelta(days=ATTRIBUTION_AFTER_END_DAYS)
    ids = list(
        Campaign.objects.filter(
            Q(state__in=(State.RUNNING, State.PAUSED))
            | Q(state__in=(State.COMPLETED, State.STOPPED), finished_at__gte=since),
            Q(starts_at__isnull=False) | Q(materialised_at__isnull=False),
        ).values_list("pk", flat=True)
    )
    kept = set(ResultSnapshot.objects.filter(campaign_id__in=ids).values_list("campaign_id", flat=True))
    for campaign_id in ids:
        attribution_recompute(campaign_id=campaign_id)
        if campaign_id in kept:
            results_recount(campaign=Campaign.objects.get(pk=campaign_id))
    return len(ids)


@shared_task(acks_late=True)
def recount_results(campaign_id: int) -> None:
    """Count a large campaign's results again and keep them (asked for by a page view of stale results)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is not None:
        results_recount(campaign=campaign)


def results_for_reading(*, campaign: Campaign) -> CampaignResults:
    """The results a page, an export or the API shows; queues a recount of a large campaign's stale results."""
    results, recount = results_current(campaign=campaign)
    if recount:
        recount_results.delay(campaign.pk)
    return results
