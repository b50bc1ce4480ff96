"""Attribution (R4.3, R4.4): which customers of a campaign responded and which converted, treatment and control.

The rule, the same for both groups so that the uplift is fair, and the same as the campaign's results page
(`results.py`) uses:
- **The window** opens at the campaign's start (`Campaign.starts_at`; else when its contact list was written;
  else its first wave's time) and closes `response_window_days` days after the last planned wave
  (start + (waves_max - 1) x repeat_every_days). It is not counted from each customer's own message: the control
  group gets none, and a window that began at the send for treatment only would measure the two groups over
  different periods.
- **Converted**: the customer opened the conversion product (`Campaign.conversion_product_type`, else the offer's
  product) on a day of the window (`ProductHolding.opened_on`, a date in the bank's time zone, both ends
  included); for an acquisition campaign, a prospect who became a customer within the window
  (`customers.ConversionEvent`) converted too. The earliest such day is kept.
- **Responded**: converted, or an inbound interaction linked to the campaign within the window whose outcome is
  not a refusal or a failed contact (`NOT_A_RESPONSE`): an open, a click, an RSVP yes, a reply, attending the
  event, an interested call. An unsubscribe and an RSVP no are recorded as "not interested", so they are not
  responses.

`attribution_recompute` rewrites the campaign's `CampaignOutcome` rows in one transaction with one
INSERT ... SELECT, so it can run as often as the results need (every few minutes while the campaign runs).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.campaigns.models import Campaign, CampaignOutcome, Decision, Goal, Group
from navid.core.errors import Conflict, NotFound
from navid.customers.models import ConversionEvent, ProductHolding
from navid.interactions.models import Direction, Interaction, Outcome

MEASURED_GROUPS = (Group.TREATMENT, Group.CONTROL)
NOT_A_RESPONSE = (Outcome.NOT_INTERESTED, Outcome.FAILED, Outcome.NO_ANSWER, Outcome.BUSY)


def attribution_window(*, campaign: Campaign) -> tuple[datetime, datetime]:
    """The response window of a campaign: from its start to `response_window_days` after its last wave."""
    start = campaign.starts_at or campaign.materialised_at
    if start is None:
        start = campaign.waves.aggregate(first=Min("scheduled_at"))["first"]
    if start is None:
        raise Conflict(_("The campaign has no start yet, so nothing can be attributed to it."))
    last_wave = start + timedelta(days=campaign.repeat_every_days * (campaign.waves_max - 1))
    return start, last_wave + timedelta(days=campaign.response_window_days)


def conversion_product_type_id(*, campaign: Campaign) -> int | None:
    """The product whose opening counts as a conversion: the campaign's own choice, else the offer's product."""
    if campaign.conversion_product_type_id is not None:
        return campaign.conversion_product_type_id
    if campaign.offer is not None:
        return campaign.offer.product_type_id
    return None


def _subquery(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.sql_with_params()
    return f"({sql})", list(params)


@transaction.atomic
def attribution_recompute(*, campaign_id: int) -> int:
    """Rewrite who responded and who converted in the campaign's treatment and control groups; returns the
    number of conversions."""
    campaign = Campaign.objects.select_related("offer").filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    start, end = attribution_window(campaign=campaign)
    product_type_id = conversion_product_type_id(campaign=campaign)
    acquisition = campaign.goal == Goal.ACQUISITION
    if product_type_id is None and not acquisition:
        raise Conflict(_("The campaign names no product to convert to and has no offer."))
    first_day: date = timezone.localtime(start).date()
    last_day: date = timezone.localtime(end).date()

    # Each part is an ORM query with one row per customer, so dates and time zones are handled per database; the
    # parts are joined to the decision rows in one INSERT ... SELECT.
    joins: list[str] = []
    params: list[Any] = []
    day_of: dict[str, str] = {}
    if product_type_id is not None:
        sql, part = _subquery(
            ProductHolding.objects.filter(
                product_type_id=product_type_id, opened_on__gte=first_day, opened_on__lte=last_day
            )
            .order_by()
            .values("customer_id")
            .annotate(first_on=Min("opened_on"))
        )
        joins.append(f"LEFT JOIN {sql} h ON h.customer_id = d.customer_id")
        params += part
        day_of["h"] = "h.first_on"
    if acquisition:
        sql, part = _subquery(
            ConversionEvent.objects.filter(occurred_at__gte=start, occurred_at__lte=end)
            .order_by()
            .values("customer_id")
            .annotate(first_on=Min(TruncDate("occurred_at")))
        )
        joins.append(f"LEFT JOIN {sql} e ON e.customer_id = d.customer_id")
        params += part
        day_of["e"] = "e.first_on"
    sql, part = _subquery(
        Interaction.objects.filter(
            campaign_id=campaign.pk, direction=Direction.INBOUND, occurred_at__gte=start, occurred_at__lte=end
        )
        .exclude(outcome__in=NOT_A_RESPONSE)
        .order_by()
        .values("customer_id")
        .annotate(first_at=Min("occurred_at"))
    )
    joins.append(f"LEFT JOIN {sql} r ON r.customer_id = d.customer_id")
    params += part
    if len(day_of) == 2:
        converted_on = (
            "CASE WHEN h.first_on IS NULL THEN e.first_on"
            " WHEN e.first_on IS NULL OR h.first_on <= e.first_on THEN h.first_on ELSE e.first_on END"
        )
    else:
        converted_on = next(iter(day_of.values()))
    product = "NULL"
    if "h" in day_of:
        product = "CASE WHEN h.first_on IS NULL THEN NULL ELSE %s END"
        params.insert(0, product_type_id)
    something = " OR ".join(f"{column} IS NOT NULL" for column in [*day_of.values(), "r.first_at"])

    qn = connection.ops.quote_name
    outcome, decision, group = qn(CampaignOutcome._meta.db_table), qn(Decision._meta.db_table), qn("group")
    CampaignOutcome.objects.filter(campaign_id=campaign.pk).delete()
    sql = f"""
        INSERT INTO {outcome} (campaign_id, customer_id, {group}, responded_at, converted_on, product_type_id)
        SELECT d.campaign_id, d.customer_id, d.{group}, r.first_at, {converted_on}, {product}
        FROM {decision} d
        {" ".join(joins)}
        WHERE d.campaign_id = %s AND d.{group} IN (%s, %s) AND ({something})
    """  # noqa: S608 - table names come from the models and fixed text, every value is a parameter
    params += [campaign.pk, *MEASURED_GROUPS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return CampaignOutcome.objects.filter(campaign_id=campaign.pk, converted_on__isnull=False).count()


def attribution_counts(*, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per measured group: its size, how many responded (a response or a conversion) and how many converted."""
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
            responded=Count("pk", filter=Q(responded_at__isnull=False) | Q(converted_on__isnull=False)),
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
