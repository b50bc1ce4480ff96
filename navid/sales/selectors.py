"""Reads of sales: follow-ups, leads and applications a user may see; the funnel, KPIs and conversions (R8.3)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jdatetime
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import Branch
from navid.campaigns.models import Campaign
from navid.core.text import to_persian_digits
from navid.customers.models import ConversionEvent
from navid.customers.selectors import customers_visible_to
from navid.sales.models import (
    OPEN_STAGES,
    Application,
    FollowUp,
    FollowUpStatus,
    Lead,
    LeadStage,
    LeadStageSpan,
)
from navid.sales.pipeline import FORWARD, stage_hint


def followups_visible_to(*, user: Any) -> QuerySet[FollowUp]:
    """Follow-ups of the customers the user may see (R9 scope), and every one assigned to the user."""
    visible = customers_visible_to(user=user).values("pk")
    return FollowUp.objects.filter(Q(customer__in=visible) | Q(assignee=user)).select_related(
        "customer", "assignee"
    )


def followup_list(
    *, user: Any, status: str = "", mine: bool = False, overdue: bool = False, source: str = ""
) -> QuerySet[FollowUp]:
    """The follow-ups a user sees, filtered; open ones first by due date."""
    qs = followups_visible_to(user=user)
    if status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(assignee=user)
    if overdue:
        qs = qs.exclude(status=FollowUpStatus.RESOLVED).filter(due_at__lt=timezone.now())
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("due_at", "pk")


@dataclass(frozen=True)
class FollowUpReportRow:
    source: str
    total: int
    open: int
    contacted: int
    resolved: int
    overdue: int
    resolved_on_time: int


def followup_report(*, user: Any) -> list[FollowUpReportRow]:
    """Per source: how many follow-ups, in which status, how many overdue and how many resolved by their due date."""
    now = timezone.now()
    rows = (
        followups_visible_to(user=user)
        .order_by()
        .values("source")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(status=FollowUpStatus.OPEN)),
            contacted=Count("pk", filter=Q(status=FollowUpStatus.CONTACTED)),
            resolved=Count("pk", filter=Q(status=FollowUpStatus.RESOLVED)),
            overdue=Count("pk", filter=~Q(status=FollowUpStatus.RESOLVED) & Q(due_at__lt=now)),
            resolved_on_time=Count(
                "pk", filter=Q(status=FollowUpStatus.RESOLVED, resolved_at__lte=F("due_at"))
            ),
        )
        .order_by("source")
    )
    return [FollowUpReportRow(**row) for row in rows]


# --- leads ---


def leads_visible_to(*, user: Any) -> QuerySet[Lead]:
    """Leads of the customers the user may see (R9 scope), and every lead assigned to the user."""
    visible = customers_visible_to(user=user).values("pk")
    return Lead.objects.filter(Q(customer__in=visible) | Q(assignee=user)).select_related(
        "customer", "assignee", "product_type"
    )


@dataclass(frozen=True)
class BoardColumn:
    stage: str
    label: str
    hint: str
    total: int
    overdue: int
    leads: list[Lead]


BOARD_PER_STAGE = 50


def lead_board(*, user: Any, mine: bool = True, overdue: bool = False) -> list[BoardColumn]:
    """The open leads by stage with the next-step hint of each stage; the first due first, 50 per stage."""
    qs = leads_visible_to(user=user)
    if mine:
        qs = qs.filter(assignee=user)
    now = timezone.now()
    if overdue:
        qs = qs.filter(due_at__lt=now)
    counts = {
        row["stage"]: row
        for row in qs.filter(stage__in=OPEN_STAGES)
        .order_by()
        .values("stage")
        .annotate(total=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    }
    columns = []
    for stage in OPEN_STAGES:
        row = counts.get(stage.value, {"total": 0, "overdue": 0})
        leads = list(
            qs.filter(stage=stage).order_by(F("due_at").asc(nulls_last=True), "pk")[:BOARD_PER_STAGE]
        )
        columns.append(
            BoardColumn(stage.value, str(stage.label), stage_hint(stage), row["total"], row["overdue"], leads)
        )
    return columns


def lead_history(*, lead: Lead) -> QuerySet[LeadStageSpan]:
    return LeadStageSpan.objects.filter(lead=lead).select_related("actor").order_by("entered_at", "pk")


def applications_visible_to(*, user: Any) -> QuerySet[Application]:
    """Applications of the customers the user may see (R9 scope)."""
    visible = customers_visible_to(user=user).values("pk")
    return Application.objects.filter(customer__in=visible).select_related(
        "customer", "product_type", "offer", "created_by"
    )


def application_list(*, user: Any, status: str = "", channel: str = "") -> QuerySet[Application]:
    qs = applications_visible_to(user=user)
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("-created_at", "-pk")


# --- funnel and KPIs (R8.3) ---


@dataclass(frozen=True)
class Period:
    """Leads created in [start, end); either may be open."""

    start: dt.date | None = None
    end: dt.date | None = None


def _leads_in(*, user: Any, period: Period) -> QuerySet[Lead]:
    qs = leads_visible_to(user=user)
    if period.start is not None:
        qs = qs.filter(created_at__date__gte=period.start)
    if period.end is not None:
        qs = qs.filter(created_at__date__lt=period.end)
    return qs


@dataclass(frozen=True)
class FunnelRow:
    stage: str
    label: str
    reached: int
    now_in_stage: int
    conversion: float | None  # reached the next stage / reached this one
    average_days: float | None  # average time spent in the stage by leads that left it (skips not counted)


def sales_funnel(*, user: Any, period: Period | None = None) -> list[FunnelRow]:
    """The funnel of the user's leads: two GROUP BY queries, one over stage spans and one over leads."""
    leads = _leads_in(user=user, period=period or Period())
    lead_ids = leads.order_by().values("pk")
    spans = (
        LeadStageSpan.objects.filter(lead__in=lead_ids)
        .order_by()
        .values("stage")
        .annotate(
            reached=Count("pk"),
            average=Avg("seconds", filter=Q(left_at__isnull=False) & ~Q(left_at=F("entered_at"))),
        )
    )
    by_stage = {row["stage"]: row for row in spans}
    now_in = dict(leads.order_by().values("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    rows = []
    stages = [*FORWARD, LeadStage.LOST]
    for stage in stages:
        reached = by_stage.get(stage.value, {}).get("reached", 0)
        conversion = None
        if stage in FORWARD[:-1] and reached:
            following = FORWARD[FORWARD.index(stage) + 1]
            conversion = by_stage.get(following.value, {}).get("reached", 0) / reached
        average = by_stage.get(stage.value, {}).get("average")
        open_stage = stage in OPEN_STAGES
        rows.append(
            FunnelRow(
                stage=stage.value,
                label=str(stage.label),
                reached=reached,
                now_in_stage=now_in.get(stage.value, 0),
                conversion=conversion,
                average_days=float(average) / 86400 if average is not None and open_stage else None,
            )
        )
    return rows


@dataclass(frozen=True)
class ManagerKpi:
    user_id: int | None
    name: str
    handled: int
    open: int
    overdue: int
    won: int
    lost: int
    conversion: float | None  # won / closed
    response_hours: float | None  # average of first contact - assignment
    revenue: Decimal  # value of the leads won


def manager_kpis(*, user: Any, period: Period | None = None) -> list[ManagerKpi]:
    """Each manager's leads handled, conversion, response time and revenue: one GROUP BY over the leads."""
    now = timezone.now()
    rows: list[dict[str, Any]] = list(
        _leads_in(user=user, period=period or Period())
        .order_by()
        .values("assignee")
        .annotate(
            handled=Count("pk"),
            open=Count("pk", filter=Q(stage__in=OPEN_STAGES)),
            overdue=Count("pk", filter=Q(stage__in=OPEN_STAGES, due_at__lt=now)),
            won=Count("pk", filter=Q(stage=LeadStage.WON)),
            lost=Count("pk", filter=Q(stage=LeadStage.LOST)),
            response=Avg("response_seconds"),
            revenue=Sum("value", filter=Q(stage=LeadStage.WON)),
        )
    )
    users = get_user_model().objects.in_bulk([r["assignee"] for r in rows if r["assignee"] is not None])
    out = []
    for r in rows:
        person = users.get(r["assignee"]) if r["assignee"] is not None else None
        name = (
            (person.get_full_name() or person.get_username()) if person is not None else str(_("Unassigned"))
        )
        closed = r["won"] + r["lost"]
        out.append(
            ManagerKpi(
                user_id=r["assignee"],
                name=name,
                handled=r["handled"],
                open=r["open"],
                overdue=r["overdue"],
                won=r["won"],
                lost=r["lost"],
                conversion=r["won"] / closed if closed else None,
                response_hours=float(r["response"]) / 3600 if r["response"] is not None else None,
                revenue=Decimal(r["revenue"] or 0).quantize(Decimal("0.01")),
            )
        )
    out.sort(key=lambda k: (-k.revenue, -k.won, k.name))
    return out


CONVERSION_DIMENSIONS = ("source", "campaign", "branch", "manager")


@dataclass(frozen=True)
class ConversionSeries:
    """Prospects converted into customers per month (Jalali months in Persian), one series per value of the
    dimension."""

    months: list[str]
    series: dict[str, list[int]]
    totals: dict[str, int]


def _month_of(day: dt.date, language: str) -> tuple[int, int]:
    """(year, month) of `day` in the user's calendar: Jalali for Persian, Gregorian otherwise."""
    if language.startswith("fa"):
        jalali = jdatetime.date.fromgregorian(date=day)
        return jalali.year, jalali.month
    return day.year, day.month


def _month_label(month: tuple[int, int], language: str) -> str:
    if language.startswith("fa"):
        return to_persian_digits(f"{month[0]}/{month[1]:02d}")
    return f"{month[0]}-{month[1]:02d}"


def conversions_over_time(
    *, user: Any, dimension: str = "source", period: Period | None = None, language: str = "en"
) -> ConversionSeries:
    """Conversions (customers.ConversionEvent) of the customers the user sees, by day and dimension in one GROUP BY;
    the days are folded into months here (Jalali months do not start on Gregorian month boundaries).

    The campaign of a conversion is the campaign of the customer's latest lead from a campaign created before it.
    """
    if dimension not in CONVERSION_DIMENSIONS:
        dimension = "source"
    period = period or Period()
    events = ConversionEvent.objects.filter(customer__in=customers_visible_to(user=user).values("pk"))
    if period.start is not None:
        events = events.filter(occurred_at__date__gte=period.start)
    if period.end is not None:
        events = events.filter(occurred_at__date__lt=period.end)
    key: Any
    if dimension == "campaign":
        key = Subquery(
            Lead.objects.filter(
                customer=OuterRef("customer"), campaign__isnull=False, created_at__lte=OuterRef("occurred_at")
            )
            .order_by("-created_at", "-pk")
            .values("campaign_id")[:1]
        )
    elif dimension == "branch":
        key = F("customer__branch_id")
    elif dimension == "manager":
        key = F("customer__relationship_manager_id")
    else:
        key = F("source")
    rows = list(
        events.annotate(day=TruncDate("occurred_at"), key=key)
        .order_by()
        .values("day", "key")
        .annotate(n=Count("pk"))
        .values_list("day", "key", "n")
    )
    labels = _dimension_labels(dimension, {k for _d, k, _n in rows})
    # Days are folded into months here: a Jalali month spans two Gregorian ones.
    months = sorted({_month_of(day, language) for day, _k, _n in rows})
    index = {m: i for i, m in enumerate(months)}
    series: dict[str, list[int]] = {}
    for day, k, n in rows:
        label = labels.get(k, str(_("None")))
        series.setdefault(label, [0] * len(months))[index[_month_of(day, language)]] += n
    totals = {label: sum(values) for label, values in series.items()}
    return ConversionSeries(
        months=[_month_label(m, language) for m in months], series=dict(sorted(series.items())), totals=totals
    )


def _dimension_labels(dimension: str, keys: set[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if dimension == "source":
        return {k: str(ConversionEvent.Source(k).label) for k in ids if k in ConversionEvent.Source.values}
    if dimension == "campaign":
        return {pk: name for pk, name in Campaign.objects.filter(pk__in=ids).values_list("pk", "name")}
    if dimension == "branch":
        return {b.pk: str(b) for b in Branch.objects.filter(pk__in=ids)}
    users = get_user_model().objects.in_bulk(ids)
    return {pk: u.get_full_name() or u.get_username() for pk, u in users.items()}


# --- export ---


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def dashboard_rows(
    *, funnel: list[FunnelRow], kpis: list[ManagerKpi], conversions: ConversionSeries
) -> list[list[Any]]:
    """The dashboard as rows: the funnel, the managers' KPIs, then conversions by month."""
    rows: list[list[Any]] = [[str(_("Sales funnel"))]]
    rows.append(
        [
            str(_("Stage")),
            str(_("Reached")),
            str(_("Now in stage")),
            str(_("Conversion to next")),
            str(_("Average days in stage")),
        ]
    )
    for f in funnel:
        rows.append(
            [
                f.label,
                f.reached,
                f.now_in_stage,
                _pct(f.conversion),
                "" if f.average_days is None else round(f.average_days, 2),
            ]
        )
    rows.append([])
    rows.append([str(_("Manager KPIs"))])
    rows.append(
        [
            str(_("Manager")),
            str(_("Leads handled")),
            str(_("Open")),
            str(_("Overdue")),
            str(_("Won")),
            str(_("Lost")),
            str(_("Conversion")),
            str(_("Response time (hours)")),
            str(_("Revenue")),
        ]
    )
    for k in kpis:
        rows.append(
            [
                k.name,
                k.handled,
                k.open,
                k.overdue,
                k.won,
                k.lost,
                _pct(k.conversion),
                "" if k.response_hours is None else round(k.response_hours, 2),
                k.revenue,
            ]
        )
    rows.append([])
    rows.append([str(_("Prospects converted to customers"))])
    rows.append(["", *conversions.months, str(_("Total"))])
    for label, values in conversions.series.items():
        rows.append([label, *values, conversions.totals[label]])
    return rows


def dashboard_csv(rows: list[list[Any]]) -> str:
    """CSV text with a byte order mark, so that spreadsheet programs read Persian."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(["" if v is None else str(v) for v in row])
    return out.getvalue()


def dashboard_xlsx(rows: list[list[Any]]) -> bytes:
    """An XLSX workbook with one sheet; numbers stay numbers."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "sales"
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    sheet.column_dimensions["A"].width = 36
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
