"""Attribution (R4.3, R4.4): which customers of a campaign responded and which converted, treatment and control.

The rule, the same for both groups so that the uplift is fair:
- The window opens on the campaign's start (`Campaign.starts_at`, or its first wave's time when no start is set)
  and lasts `response_window_days` days. It is not counted from each customer's own message: the control group
  gets no message, and a window that began at the send for treatment only would measure the two groups over
  different periods.
- **Converted**: the customer opened the conversion product (`Campaign.conversion_product_type`, or the offer's
  product) on the start day or in the `response_window_days` days after it (`ProductHolding.opened_on`, a date
  in the bank's time zone). The first such product counts.
- **Responded**: an inbound interaction linked to the campaign inside the window that shows interest: outcome
  "interested" (a click on a link, an RSVP yes, a reply or a call recorded as interested) or a meeting completed
  (the customer came to the event). Opening a message, an unsubscribe or an RSVP no is not a response.

`attribution_recompute` rewrites the campaign's `CampaignOutcome` rows in one transaction with one
INSERT ... SELECT, so it can run as often as the results need (every few minutes while the campaign runs).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.campaigns.models import Campaign, CampaignOutcome, Decision, Group
from navid.core.errors import Conflict, NotFound
from navid.customers.models import ProductHolding
from navid.interactions.models import Direction, Interaction, InteractionKind, Outcome

MEASURED_GROUPS = (Group.TREATMENT, Group.CONTROL)


def attribution_window(*, campaign: Campaign) -> tuple[datetime, datetime]:
    """The response window of a campaign: from its start, `response_window_days` days long."""
    start = campaign.starts_at
    if start is None:
        start = campaign.waves.aggregate(first=Min("scheduled_at"))["first"]
    if start is None:
        raise Conflict(_("The campaign has no start yet, so nothing can be attributed to it."))
    return start, start + timedelta(days=campaign.response_window_days)


def conversion_product_type_id(*, campaign: Campaign) -> int:
    """The product whose opening counts as a conversion: the campaign's own choice, else the offer's product."""
    if campaign.conversion_product_type_id is not None:
        return campaign.conversion_product_type_id
    if campaign.offer_id is not None:
        return campaign.offer.product_type_id  # type: ignore[union-attr]
    raise Conflict(_("The campaign names no product to convert to and has no offer."))


@transaction.atomic
def attribution_recompute(*, campaign_id: int) -> int:
    """Rewrite who responded and who converted in the campaign's treatment and control groups; returns the
    number of conversions."""
    campaign = Campaign.objects.select_related("offer").filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    start, end = attribution_window(campaign=campaign)
    product_type_id = conversion_product_type_id(campaign=campaign)
    first_day: date = timezone.localdate(start)
    last_day: date = first_day + timedelta(days=campaign.response_window_days)

    ops, qn = connection.ops, connection.ops.quote_name
    outcome, decision = qn(CampaignOutcome._meta.db_table), qn(Decision._meta.db_table)
    holding, interaction = qn(ProductHolding._meta.db_table), qn(Interaction._meta.db_table)
    group = qn("group")
    CampaignOutcome.objects.filter(campaign_id=campaign.pk).delete()
    sql = f"""
        INSERT INTO {outcome} (campaign_id, customer_id, {group}, responded_at, converted_on, product_type_id)
        SELECT d.campaign_id, d.customer_id, d.{group}, r.first_at, c.first_on,
               CASE WHEN c.first_on IS NULL THEN NULL ELSE %s END
        FROM {decision} d
        LEFT JOIN (
            SELECT h.customer_id, MIN(h.opened_on) AS first_on
            FROM {holding} h
            WHERE h.product_type_id = %s AND h.opened_on >= %s AND h.opened_on <= %s
            GROUP BY h.customer_id
        ) c ON c.customer_id = d.customer_id
        LEFT JOIN (
            SELECT i.customer_id, MIN(i.occurred_at) AS first_at
            FROM {interaction} i
            WHERE i.campaign_id = %s AND i.direction = %s
              AND (i.outcome = %s OR (i.kind = %s AND i.outcome = %s))
              AND i.occurred_at >= %s AND i.occurred_at < %s
            GROUP BY i.customer_id
        ) r ON r.customer_id = d.customer_id
        WHERE d.campaign_id = %s AND d.{group} IN (%s, %s)
          AND (c.first_on IS NOT NULL OR r.first_at IS NOT NULL)
    """  # noqa: S608 - table names come from the models, every value is a parameter
    params: list[Any] = [
        product_type_id,
        product_type_id,
        ops.adapt_datefield_value(first_day),
        ops.adapt_datefield_value(last_day),
        campaign.pk,
        Direction.INBOUND,
        Outcome.INTERESTED,
        InteractionKind.MEETING,
        Outcome.COMPLETED,
        ops.adapt_datetimefield_value(start),
        ops.adapt_datetimefield_value(end),
        campaign.pk,
        *MEASURED_GROUPS,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return CampaignOutcome.objects.filter(campaign_id=campaign.pk, converted_on__isnull=False).count()


def attribution_counts(*, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per measured group: its size, and how many responded and converted (as last recomputed)."""
    sizes = dict(
        Decision.objects.filter(campaign_id=campaign_id, group__in=MEASURED_GROUPS)
        .values_list("group")
        .annotate(n=Count("pk"))
        .values_list("group", "n")
    )
    outcomes = {
        row["group"]: row
        for row in CampaignOutcome.objects.filter(campaign_id=campaign_id)
        .values("group")
        .annotate(
            responded=Count("pk", filter=Q(responded_at__isnull=False)),
            converted=Count("pk", filter=Q(converted_on__isnull=False)),
        )
    }
    return {
        str(name): {
            "size": sizes.get(name, 0),
            "responded": outcomes.get(name, {}).get("responded", 0),
            "converted": outcomes.get(name, {}).get("converted", 0),
        }
        for name in MEASURED_GROUPS
    }
