"""Results of a campaign (R8.1, R8.5): the funnel, uplift over the control group, cost and ROI; CSV and XLSX.

Every count is one aggregate query over the campaign's decision rows, outbox or interactions; nothing loops over
customers in Python. The definitions (docs/campaigns.md, "How the results are counted"):

- targeted: every customer of the campaign's audience (one decision row each) = treatment + control + excluded.
- excluded: decision rows in the excluded group, per contact-policy rule.
- notified: treatment customers with at least one message sent or delivered; delivered: with one delivered.
- opened / clicked: treatment customers with a message whose `opened_at` / `clicked_at` is set.
- the response window runs from the campaign's start to `response_window_days` after the last planned wave
  (start + (waves_max - 1) * repeat_every_days), the same for treatment and control.
- converted: the customer opened the conversion product (the campaign's, else the offer's) within the window;
  for an acquisition campaign a prospect who became a customer within the window counts as well.
- responded: converted, or an inbound interaction linked to the campaign within the window whose outcome is not a
  refusal or a failed contact (`NOT_A_RESPONSE`).
- uplift: conversion rate of treatment minus that of control (intention to treat: everyone drawn into treatment
  counts, notified or not), with Newcombe's hybrid score 95 % interval (method 10, from Wilson intervals) and the
  two-sided p-value of the pooled two-proportion z-test.
- actual cost: the sum of the outbox messages' cost. ROI = (treatment conversions x offer value to the bank -
  actual cost) / actual cost; empty when there is no cost or no offer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import pickle
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.campaigns.models import (
    Campaign,
    CampaignChannel,
    ChannelPlan,
    Decision,
    Goal,
    Group,
    OutboxMessage,
    OutboxState,
    ResultSnapshot,
    State,
    Wave,
)
from navid.customers.models import ConversionEvent, ProductHolding
from navid.interactions.models import Direction, Interaction, Outcome

CONFIDENCE = 0.95
NOTIFIED_STATES = (OutboxState.SENT, OutboxState.DELIVERED)
NOT_A_RESPONSE = (Outcome.NOT_INTERESTED, Outcome.FAILED, Outcome.NO_ANSWER, Outcome.BUSY)
UPLIFT_METHOD = "newcombe-hybrid-score"


# --- statistics ---


@dataclass(frozen=True)
class Uplift:
    """Conversion in treatment and control, their difference, its 95 % interval and the two-sided p-value."""

    treatment_rate: float | None
    control_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str = UPLIFT_METHOD


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval of a proportion."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def uplift_compute(
    *,
    treated_successes: int,
    treated: int,
    control_successes: int,
    control: int,
    confidence: float = CONFIDENCE,
) -> Uplift:
    """Difference of two proportions with Newcombe's hybrid score interval and the pooled z-test's p-value."""
    if treated <= 0 or control <= 0:
        rate_t = treated_successes / treated if treated > 0 else None
        rate_c = control_successes / control if control > 0 else None
        return Uplift(rate_t, rate_c, None, None, None, None)
    p1, p2 = treated_successes / treated, control_successes / control
    l1, u1 = wilson_interval(treated_successes, treated, confidence)
    l2, u2 = wilson_interval(control_successes, control, confidence)
    difference = p1 - p2
    ci_low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    ci_high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pooled = (treated_successes + control_successes) / (treated + control)
    se = math.sqrt(pooled * (1 - pooled) * (1 / treated + 1 / control))
    # se is 0 when everyone or no one converted in both groups: no evidence of any difference.
    p_value = 2 * (1 - NormalDist().cdf(abs(difference) / se)) if se else 1.0
    return Uplift(p1, p2, difference, ci_low, ci_high, p_value)


# --- counts ---


@dataclass
class WaveResult:
    """One wave: messages and the treatment customers it reached, and what they did within its window."""

    number: int
    scheduled_at: dt.datetime | None
    state: str
    messages: int
    notified: int
    delivered: int
    opened: int
    clicked: int
    responded: int
    converted: int
    cost: Decimal


@dataclass
class ChannelResult:
    """One channel: planned against actual cost, and its messages."""

    channel: str
    label: str
    cost_planned: Decimal
    cost_actual: Decimal
    messages: int
    notified: int


@dataclass
class CampaignResults:
    """Everything the results panel, the exports and `GET /api/v1/campaigns/{id}/results` show."""

    campaign_id: int
    final: bool
    computed_at: dt.datetime
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    targeted: int
    excluded: dict[str, int]
    excluded_total: int
    treatment: int
    control: int
    notified: int
    delivered: int
    opened: int
    clicked: int
    responded: int
    converted: int
    control_responded: int
    control_converted: int
    uplift: Uplift
    incremental_conversions: float | None
    cost_planned: Decimal
    cost_actual: Decimal
    cost_per_contact: Decimal | None
    cost_per_response: Decimal | None
    cost_per_acquisition: Decimal | None
    value_per_conversion: Decimal | None
    roi: float | None
    waves: list[WaveResult] = field(default_factory=list)
    channels: list[ChannelResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The results as plain values (for the API)."""
        return asdict(self)


def response_window(*, campaign: Campaign) -> tuple[dt.datetime | None, dt.datetime | None]:
    """From the campaign's start to `response_window_days` after its last planned wave."""
    start = campaign.starts_at or campaign.materialised_at
    if start is None:
        return None, None
    last_wave = start + dt.timedelta(days=campaign.repeat_every_days * (campaign.waves_max - 1))
    return start, last_wave + dt.timedelta(days=campaign.response_window_days)


def _conversion_product_id(campaign: Campaign) -> int | None:
    if campaign.conversion_product_type_id is not None:
        return campaign.conversion_product_type_id
    return campaign.offer.product_type_id if campaign.offer is not None else None


def _converted(campaign: Campaign, start: dt.datetime | None, end: dt.datetime | None) -> Q:
    """A condition on rows with a `customer_id`: the customer converted between `start` and `end`."""
    if start is None or end is None:
        return Q(pk__in=[])
    condition = Q(pk__in=[])
    product_id = _conversion_product_id(campaign)
    local_start, local_end = timezone.localtime(start).date(), timezone.localtime(end).date()
    if product_id is not None:
        condition |= Q(
            Exists(
                ProductHolding.objects.filter(
                    customer_id=OuterRef("customer_id"),
                    product_type_id=product_id,
                    opened_on__gte=local_start,
                    opened_on__lte=local_end,
                )
            )
        )
    if campaign.goal == Goal.ACQUISITION:
        condition |= Q(
            Exists(
                ConversionEvent.objects.filter(
                    customer_id=OuterRef("customer_id"), occurred_at__gte=start, occurred_at__lte=end
                )
            )
        )
    return condition


def _responded(campaign: Campaign, start: dt.datetime | None, end: dt.datetime | None) -> Q:
    """A condition on rows with a `customer_id`: the customer answered the campaign or converted."""
    if start is None or end is None:
        return Q(pk__in=[])
    answered = Interaction.objects.filter(
        customer_id=OuterRef("customer_id"),
        campaign_id=campaign.pk,
        direction=Direction.INBOUND,
        occurred_at__gte=start,
        occurred_at__lte=end,
    ).exclude(outcome__in=NOT_A_RESPONSE)
    return Q(Exists(answered)) | _converted(campaign, start, end)


def _per_customer(messages: QuerySet[OutboxMessage]) -> dict[str, int]:
    """Distinct customers reached, delivered, opening and clicking among `messages`."""
    return messages.aggregate(
        notified=Count("customer_id", distinct=True, filter=Q(state__in=NOTIFIED_STATES)),
        delivered=Count("customer_id", distinct=True, filter=Q(state=OutboxState.DELIVERED)),
        opened=Count("customer_id", distinct=True, filter=Q(opened_at__isnull=False)),
        clicked=Count("customer_id", distinct=True, filter=Q(clicked_at__isnull=False)),
    )


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _per(cost: Decimal, count: int) -> Decimal | None:
    return (cost / count).quantize(Decimal("0.01")) if count else None


def campaign_results(*, campaign: Campaign) -> CampaignResults:
    """The campaign's results now: live while it runs, final once it is completed or stopped."""
    start, end = response_window(campaign=campaign)
    decisions = Decision.objects.filter(campaign_id=campaign.pk)
    groups = decisions.aggregate(
        targeted=Count("pk"),
        treatment=Count("pk", filter=Q(group=Group.TREATMENT)),
        control=Count("pk", filter=Q(group=Group.CONTROL)),
        excluded=Count("pk", filter=Q(group=Group.EXCLUDED)),
    )
    excluded = {
        row["rule"] or "other": row["n"]
        for row in decisions.filter(group=Group.EXCLUDED)
        .values("rule")
        .annotate(n=Count("pk"))
        .order_by("-n", "rule")
    }
    converted_q = _converted(campaign, start, end)
    responded_q = _responded(campaign, start, end)
    outcomes = decisions.filter(group__in=(Group.TREATMENT, Group.CONTROL)).aggregate(
        responded=Count("pk", filter=Q(group=Group.TREATMENT) & responded_q),
        converted=Count("pk", filter=Q(group=Group.TREATMENT) & converted_q),
        control_responded=Count("pk", filter=Q(group=Group.CONTROL) & responded_q),
        control_converted=Count("pk", filter=Q(group=Group.CONTROL) & converted_q),
    )
    messages = OutboxMessage.objects.filter(campaign_id=campaign.pk)
    reached = _per_customer(messages)
    cost_actual = _money(messages.aggregate(total=Sum("cost"))["total"])
    uplift = uplift_compute(
        treated_successes=outcomes["converted"],
        treated=groups["treatment"],
        control_successes=outcomes["control_converted"],
        control=groups["control"],
    )
    incremental = uplift.difference * groups["treatment"] if uplift.difference is not None else None
    value = campaign.offer.value_to_bank if campaign.offer is not None else None
    roi = None
    if value is not None and cost_actual > 0:
        roi = float((outcomes["converted"] * value - cost_actual) / cost_actual)
    return CampaignResults(
        campaign_id=campaign.pk,
        final=campaign.state in (State.COMPLETED, State.STOPPED),
        computed_at=timezone.now(),
        window_start=start,
        window_end=end,
        targeted=groups["targeted"],
        excluded=excluded,
        excluded_total=groups["excluded"],
        treatment=groups["treatment"],
        control=groups["control"],
        notified=reached["notified"],
        delivered=reached["delivered"],
        opened=reached["opened"],
        clicked=reached["clicked"],
        responded=outcomes["responded"],
        converted=outcomes["converted"],
        control_responded=outcomes["control_responded"],
        control_converted=outcomes["control_converted"],
        uplift=uplift,
        incremental_conversions=incremental,
        cost_planned=_money(campaign.budget_planned),
        cost_actual=cost_actual,
        cost_per_contact=_per(cost_actual, reached["notified"]),
        cost_per_response=_per(cost_actual, outcomes["responded"]),
        cost_per_acquisition=_per(cost_actual, outcomes["converted"]),
        value_per_conversion=value,
        roi=roi,
        waves=_waves(campaign, messages),
        channels=_channels(campaign, messages),
    )


def _waves(campaign: Campaign, messages: QuerySet[OutboxMessage]) -> list[WaveResult]:
    """One line per wave planned or sent; a wave's window runs from its time to `response_window_days` later."""
    planned = {w.number: w for w in Wave.objects.filter(campaign_id=campaign.pk)}
    sent = {
        row["wave"]: row
        for row in messages.order_by()
        .values("wave")
        .annotate(
            messages=Count("pk"),
            cost=Sum("cost"),
            notified=Count("customer_id", distinct=True, filter=Q(state__in=NOTIFIED_STATES)),
            delivered=Count("customer_id", distinct=True, filter=Q(state=OutboxState.DELIVERED)),
            opened=Count("customer_id", distinct=True, filter=Q(opened_at__isnull=False)),
            clicked=Count("customer_id", distinct=True, filter=Q(clicked_at__isnull=False)),
        )
    }
    lines = []
    for number in sorted(set(planned) | set(sent)):
        wave = planned.get(number)
        row = sent.get(number, {})
        start = wave.scheduled_at if wave else None
        if start is None and campaign.starts_at is not None:
            start = campaign.starts_at + dt.timedelta(days=campaign.repeat_every_days * (number - 1))
        end = start + dt.timedelta(days=campaign.response_window_days) if start else None
        # Driven from the wave's messages (only treatment customers get messages): one pass over them, with the
        # customer's products and interactions looked up by index.
        reached = messages.filter(wave=number, state__in=NOTIFIED_STATES).aggregate(
            responded=Count("customer_id", distinct=True, filter=_responded(campaign, start, end)),
            converted=Count("customer_id", distinct=True, filter=_converted(campaign, start, end)),
        )
        lines.append(
            WaveResult(
                number=number,
                scheduled_at=start,
                state=wave.state if wave else "",
                messages=row.get("messages", 0),
                notified=row.get("notified", 0),
                delivered=row.get("delivered", 0),
                opened=row.get("opened", 0),
                clicked=row.get("clicked", 0),
                responded=reached["responded"],
                converted=reached["converted"],
                cost=_money(row.get("cost")),
            )
        )
    return lines


def _channels(campaign: Campaign, messages: QuerySet[OutboxMessage]) -> list[ChannelResult]:
    actual = {
        row["channel"]: row
        for row in messages.order_by()
        .values("channel")
        .annotate(
            cost=Sum("cost"),
            messages=Count("pk"),
            notified=Count("customer_id", distinct=True, filter=Q(state__in=NOTIFIED_STATES)),
        )
    }
    lines = []
    for plan in ChannelPlan.objects.filter(campaign_id=campaign.pk).order_by("priority", "channel"):
        row = actual.pop(plan.channel, {})
        lines.append(
            ChannelResult(
                channel=plan.channel,
                label=str(plan.get_channel_display()),
                cost_planned=_money(plan.planned_cost),
                cost_actual=_money(row.get("cost")),
                messages=row.get("messages", 0),
                notified=row.get("notified", 0),
            )
        )
    for channel, row in sorted(actual.items()):
        lines.append(
            ChannelResult(
                channel=channel,
                label=channel,
                cost_planned=Decimal("0.00"),
                cost_actual=_money(row.get("cost")),
                messages=row["messages"],
                notified=row["notified"],
            )
        )
    return lines


# --- kept results of large campaigns ---

# Campaigns with at least this many decision rows keep their counted results in a ResultSnapshot; a page view
# reads it and, when it is older than RESULTS_FRESH, asks for a recount in the background. Smaller campaigns are
# counted on every view (a few milliseconds).
RESULTS_KEPT_FROM = 50_000
RESULTS_FRESH = dt.timedelta(seconds=60)
# The layout of the pickled CampaignResults; a snapshot of another format is counted again, never read.
RESULTS_FORMAT = 1


def results_store(*, campaign: Campaign, results: CampaignResults) -> None:
    """Keep the counted results of a large campaign (smaller ones are not kept)."""
    if results.targeted < RESULTS_KEPT_FROM:
        ResultSnapshot.objects.filter(campaign_id=campaign.pk).delete()
        return
    ResultSnapshot.objects.update_or_create(
        campaign_id=campaign.pk,
        defaults={
            "format": RESULTS_FORMAT,
            "computed_at": results.computed_at,
            "targeted": results.targeted,
            "data": pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL),
            "refresh_requested_at": None,
        },
    )


def results_recount(*, campaign: Campaign) -> CampaignResults:
    """Count the results now and keep them if the campaign is large."""
    results = campaign_results(campaign=campaign)
    results_store(campaign=campaign, results=results)
    return results


def results_current(*, campaign: Campaign) -> tuple[CampaignResults, bool]:
    """The results to show and whether the caller should queue a recount (True at most once per RESULTS_FRESH).

    A large campaign's kept results are shown as they were counted (their `computed_at` says when); channel names
    are given again in the reader's language.
    """
    now = timezone.now()
    snapshot = (
        ResultSnapshot.objects.filter(campaign_id=campaign.pk, format=RESULTS_FORMAT)
        .only("computed_at", "data")
        .first()
    )
    if snapshot is None:
        return results_recount(campaign=campaign), False
    results: CampaignResults = pickle.loads(bytes(snapshot.data))  # noqa: S301 - written only by results_store
    labels = dict(CampaignChannel.choices)
    for line in results.channels:
        line.label = str(labels.get(line.channel, line.channel))
    if now - snapshot.computed_at <= RESULTS_FRESH:
        return results, False
    with transaction.atomic():
        asked = (
            ResultSnapshot.objects.filter(campaign_id=campaign.pk)
            .filter(Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=now - RESULTS_FRESH))
            .update(refresh_requested_at=now)
        )
    return results, asked == 1


# --- exports ---


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def results_rows(*, results: CampaignResults, rule_labels: dict[str, str] | None = None) -> list[list[Any]]:
    """The results as rows of a sheet: the summary, excluded per rule, then one line per wave and per channel."""
    labels = rule_labels or {}
    u = results.uplift
    rows: list[list[Any]] = [
        [_("figure"), _("value")],
        [_("targeted"), results.targeted],
        [_("treatment"), results.treatment],
        [_("control group"), results.control],
        [_("excluded"), results.excluded_total],
        *[[_("excluded by: %(rule)s") % {"rule": labels.get(k, k)}, n] for k, n in results.excluded.items()],
        [_("notified"), results.notified],
        [_("delivered"), results.delivered],
        [_("opened"), results.opened],
        [_("clicked"), results.clicked],
        [_("responded"), results.responded],
        [_("converted"), results.converted],
        [_("responded in the control group"), results.control_responded],
        [_("converted in the control group"), results.control_converted],
        [_("conversion rate, treatment"), _rate(u.treatment_rate)],
        [_("conversion rate, control"), _rate(u.control_rate)],
        [_("uplift"), _rate(u.difference)],
        # xgettext:no-python-format
        [_("uplift, 95% interval from"), _rate(u.ci_low)],
        # xgettext:no-python-format
        [_("uplift, 95% interval to"), _rate(u.ci_high)],
        [_("p-value"), _rate(u.p_value)],
        [_("planned cost"), results.cost_planned],
        [_("actual cost"), results.cost_actual],
        [_("cost per contact"), results.cost_per_contact if results.cost_per_contact is not None else ""],
        [_("cost per response"), results.cost_per_response if results.cost_per_response is not None else ""],
        [
            _("cost per acquisition"),
            results.cost_per_acquisition if results.cost_per_acquisition is not None else "",
        ],
        [_("ROI"), _rate(results.roi)],
        [],
        [
            _("wave"),
            _("messages"),
            _("notified"),
            _("delivered"),
            _("opened"),
            _("clicked"),
            _("responded"),
            _("converted"),
            _("cost"),
        ],
        *[
            [
                w.number,
                w.messages,
                w.notified,
                w.delivered,
                w.opened,
                w.clicked,
                w.responded,
                w.converted,
                w.cost,
            ]
            for w in results.waves
        ],
        [],
        [_("channel"), _("planned cost"), _("actual cost"), _("messages"), _("notified")],
        *[[c.label, c.cost_planned, c.cost_actual, c.messages, c.notified] for c in results.channels],
    ]
    return rows


def results_csv(*, results: CampaignResults, rule_labels: dict[str, str] | None = None) -> str:
    """The results as CSV text (UTF-8 with a byte order mark, so that spreadsheet programs read Persian)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for row in results_rows(results=results, rule_labels=rule_labels):
        writer.writerow(["" if v is None else str(v) for v in row])
    return out.getvalue()


def results_xlsx(*, results: CampaignResults, title: str, rule_labels: dict[str, str] | None = None) -> bytes:
    """The results as an XLSX workbook with one sheet; numbers stay numbers."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (title or "results")[:31].translate(str.maketrans("", "", "[]:*?/\\")) or "results"
    for row in results_rows(results=results, rule_labels=rule_labels):
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    sheet.column_dimensions["A"].width = 36
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
