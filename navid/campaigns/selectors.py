"""Reads of campaigns: lists, the month calendar (Jalali in Persian), sending progress, what a user may do."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jdatetime
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from navid.campaigns.models import Campaign, OutboxState, State
from navid.campaigns.plans import CampaignPlan, ChannelPlanData, TemplateData
from navid.campaigns.progress import campaign_progress
from navid.campaigns.workflow import Action, actions_allowed
from navid.core.text import to_persian_digits


def campaigns_visible(*, user: Any, state: str | None = None, query: str = "") -> QuerySet[Campaign]:
    """The campaigns `user` may read (everyone with the view permission reads all), newest start first."""
    if not user.has_perm("campaigns.view_campaign"):
        return Campaign.objects.none()
    campaigns = Campaign.objects.select_related("owner", "offer")
    if state:
        campaigns = campaigns.filter(state=state)
    if query.strip():
        campaigns = campaigns.filter(name__icontains=query.strip())
    return campaigns.order_by("-starts_at", "-id")


def campaign_detail(*, pk: int) -> Campaign | None:
    """One campaign with what its page shows, or None."""
    return (
        Campaign.objects.select_related(
            "owner",
            "offer",
            "offer__product_type",
            "brand",
            "conversion_product_type",
            "submitted_by",
            "approved_by",
        )
        .prefetch_related("target_segments", "exclusion_segments", "channel_plans", "templates")
        .filter(pk=pk)
        .first()
    )


def campaign_plan(*, campaign: Campaign) -> CampaignPlan:
    """The saved plan of a campaign, in the form the services take (to check it again or change a part)."""
    return CampaignPlan(
        name=campaign.name,
        goal=campaign.goal,
        owner_id=campaign.owner_id,
        description=campaign.description,
        target_segment_ids=sorted(campaign.target_segments.values_list("pk", flat=True)),
        exclusion_segment_ids=sorted(campaign.exclusion_segments.values_list("pk", flat=True)),
        offer_id=campaign.offer_id,
        brand_id=campaign.brand_id,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        waves_max=campaign.waves_max,
        repeat_every_days=campaign.repeat_every_days,
        response_window_days=campaign.response_window_days,
        conversion_product_type_id=campaign.conversion_product_type_id,
        control_percent=campaign.control_percent,
        control_seed=campaign.control_seed,
        budget_planned=campaign.budget_planned,
        channels=[
            ChannelPlanData(c.channel, c.priority, c.unit_cost, c.planned_cost, c.rate_per_second)
            for c in campaign.channel_plans.order_by("priority", "channel")
        ],
        templates=[
            TemplateData(t.channel, t.language, t.body, t.subject)
            for t in campaign.templates.order_by("channel", "language")
        ],
    )


def campaign_actions(*, campaign: Campaign, user: Any) -> list[Action]:
    """The workflow actions `user` may take on `campaign` now (the page shows a button for each)."""
    return actions_allowed(campaign=campaign, actor=user)


def campaign_outbox_progress(*, campaign_id: int) -> dict[str, int]:
    """How far sending has got: the workers' counts per state, folded into what the progress bar shows."""
    states = campaign_progress(campaign_id=campaign_id)["states"]
    counts = {
        "total": sum(states.values()),
        "pending": states[OutboxState.PENDING],
        "claimed": states[OutboxState.CLAIMED],
        "sent": states[OutboxState.SENT] + states[OutboxState.DELIVERED],
        "delivered": states[OutboxState.DELIVERED],
        "failed": states[OutboxState.FAILED] + states[OutboxState.BOUNCED],
        "skipped": states[OutboxState.SKIPPED] + states[OutboxState.CANCELLED],
    }
    counts["finished"] = counts["sent"] + counts["failed"] + counts["skipped"]
    counts["percent"] = (100 * counts["finished"] // counts["total"]) if counts["total"] else 0
    return counts


# --- the calendar ---

# The Jalali months' names, shown only in the Persian interface.
JALALI_MONTHS: list[str] = list(jdatetime.date.j_months_fa)


@dataclass
class CalendarDay:
    """One day cell: its Gregorian date, the number shown, and the campaigns running on it."""

    date: dt.date
    label: str
    campaigns: list[Campaign] = field(default_factory=list)
    today: bool = False


@dataclass
class MonthCalendar:
    """One month in the user's calendar, as weeks of days (None pads the first and last week)."""

    year: int
    month: int
    title: str
    jalali: bool
    weeks: list[list[CalendarDay | None]]
    previous: tuple[int, int]
    following: tuple[int, int]
    campaigns: list[Campaign]


def _month_days(year: int, month: int, jalali: bool) -> list[dt.date]:
    if jalali:
        first = jdatetime.date(year, month, 1)
        length = jdatetime.j_days_in_month[month - 1] + (1 if month == 12 and first.isleap() else 0)
        start = first.togregorian()
    else:
        length = calendar.monthrange(year, month)[1]
        start = dt.date(year, month, 1)
    return [start + dt.timedelta(days=n) for n in range(length)]


def _step(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def campaigns_calendar(*, user: Any, year: int | None, month: int | None, jalali: bool) -> MonthCalendar:
    """The campaigns running in a month of the Jalali (Persian) or Gregorian calendar, day by day."""
    today = timezone.localdate()
    if year is None or month is None or not 1 <= month <= 12:
        if jalali:
            j_today = jdatetime.date.fromgregorian(date=today)
            year, month = j_today.year, j_today.month
        else:
            year, month = today.year, today.month
    days = _month_days(year, month, jalali)
    tz = timezone.get_current_timezone()
    month_start = dt.datetime.combine(days[0], dt.time.min, tzinfo=tz)
    month_end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    # A campaign with no end shows on its start day only.
    campaigns = list(
        campaigns_visible(user=user)
        .filter(starts_at__isnull=False, starts_at__lt=month_end)
        .filter(Q(ends_at__gte=month_start) | Q(ends_at__isnull=True, starts_at__gte=month_start))
        .order_by("starts_at", "id")
    )
    spans = []
    for campaign in campaigns:
        assert campaign.starts_at is not None
        first = timezone.localtime(campaign.starts_at).date()
        last = timezone.localtime(campaign.ends_at).date() if campaign.ends_at else first
        spans.append((first, last, campaign))
    cells = []
    for day in days:
        number = jdatetime.date.fromgregorian(date=day).day if jalali else day.day
        cells.append(
            CalendarDay(
                date=day,
                label=to_persian_digits(str(number)) if jalali else str(number),
                campaigns=[c for first, last, c in spans if first <= day <= last],
                today=day == today,
            )
        )
    # Weeks start on Saturday in the Jalali calendar, on Monday otherwise.
    first_weekday = 5 if jalali else 0
    lead = (days[0].weekday() - first_weekday) % 7
    padded: list[CalendarDay | None] = [None] * lead + list(cells)
    padded += [None] * (-len(padded) % 7)
    weeks = [padded[i : i + 7] for i in range(0, len(padded), 7)]
    if jalali:
        title = f"{JALALI_MONTHS[month - 1]} {to_persian_digits(str(year))}"
    else:
        title = date_format(dt.date(year, month, 1), "F Y")
    return MonthCalendar(
        year=year,
        month=month,
        title=title,
        jalali=jalali,
        weeks=weeks,
        previous=_step(year, month, -1),
        following=_step(year, month, 1),
        campaigns=campaigns,
    )


def campaign_states_counted(*, user: Any) -> dict[str, int]:
    """How many visible campaigns are in each state (for the list's tabs)."""
    rows = campaigns_visible(user=user).order_by().values("state").annotate(n=Count("pk"))
    counts = {state: 0 for state in State.values}
    counts.update({row["state"]: row["n"] for row in rows})
    return counts
