"""Reads of telemarketing: the screen pop, the supervisor's board, campaign progress and call reports (R8.2).

Reports are set-based: one aggregate query per table, grouped by agent, campaign or target segment; rates and
costs per call are divided in Python from the grouped sums.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from navid.campaigns.models import Campaign, CampaignChannel
from navid.customers.models import Consent, Customer, ProductHolding
from navid.customers.presenters import national_id_for
from navid.customers.selectors import customers_visible_to
from navid.interactions.models import Interaction
from navid.sales.models import FollowUpStatus
from navid.telemarketing.models import (
    Agent,
    AgentState,
    AttemptState,
    CallAttempt,
    CallEntry,
    EntryState,
    OutcomeCode,
    ScriptNode,
)

RECENT_INTERACTIONS = 5


def telemarketing_campaigns() -> QuerySet[Campaign]:
    """Campaigns with a phone channel (telemarketing campaigns)."""
    return Campaign.objects.filter(channel_plans__channel=CampaignChannel.PHONE).distinct().order_by("-pk")


@dataclass(frozen=True)
class CustomerSummary:
    customer: Customer
    national_id: str
    products: list[ProductHolding]
    interactions: list[Interaction]
    consents: list[Consent]


def customer_summary(*, user: Any, customer_id: int) -> CustomerSummary | None:
    """What the agent sees when a call comes: name, products held, last interactions, consents; the national ID
    as the user's role may see it. None when the customer is outside the user's scope."""
    customer = (
        customers_visible_to(user=user).select_related("region", "branch").filter(pk=customer_id).first()
    )
    if customer is None:
        return None
    products = list(
        ProductHolding.objects.filter(customer_id=customer_id, closed_on__isnull=True)
        .select_related("product_type")
        .order_by("-opened_on")[:10]
    )
    interactions = list(
        Interaction.objects.filter(customer_id=customer_id).order_by("-occurred_at")[:RECENT_INTERACTIONS]
    )
    consents = list(Consent.objects.filter(customer_id=customer_id).order_by("channel", "purpose"))
    return CustomerSummary(
        customer=customer,
        national_id=national_id_for(user=user, value=customer.national_id),
        products=products,
        interactions=interactions,
        consents=consents,
    )


def script_start(*, campaign_id: int) -> ScriptNode | None:
    """The first step of the campaign's script."""
    nodes = ScriptNode.objects.filter(campaign_id=campaign_id).prefetch_related("branches")
    return nodes.filter(is_start=True).first() or nodes.first()


def outcome_codes_for_agents(*, campaign_id: int) -> list[OutcomeCode]:
    return list(OutcomeCode.objects.filter(campaign_id=campaign_id, for_agents=True))


def agents_board() -> list[dict[str, Any]]:
    """Every agent who is not offline (or holds a call): state, since when, and the call in hand."""
    open_attempts = {
        attempt.agent_id: attempt
        for attempt in CallAttempt.objects.exclude(state=AttemptState.DONE)
        .filter(agent__isnull=False)
        .select_related("customer", "campaign")
    }
    rows = []
    for agent in Agent.objects.select_related("user").order_by("user__username"):
        attempt = open_attempts.get(agent.pk)
        if agent.state == AgentState.OFFLINE and attempt is None:
            continue
        rows.append({"agent": agent, "attempt": attempt})
    return rows


def calls_in_progress() -> list[CallAttempt]:
    """Attempts being dialled or talked, oldest first."""
    return list(
        CallAttempt.objects.filter(
            state__in=[AttemptState.REQUESTED, AttemptState.DIALING, AttemptState.TALKING]
        )
        .select_related("customer", "campaign", "agent__user")
        .order_by("started_at")
    )


def campaign_progress(*, campaign_ids: list[int]) -> list[dict[str, Any]]:
    """Per campaign: entries by state, attempts, contacts and conversions (two grouped queries)."""
    entries = (
        CallEntry.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(
            total=Count("pk"),
            queued=Count("pk", filter=Q(state=EntryState.QUEUED)),
            active=Count("pk", filter=Q(state=EntryState.ACTIVE)),
            callback=Count("pk", filter=Q(state=EntryState.CALLBACK)),
            done=Count("pk", filter=Q(state=EntryState.DONE)),
        )
    )
    attempts = {
        row["campaign_id"]: row
        for row in CallAttempt.objects.filter(campaign_id__in=campaign_ids, state=AttemptState.DONE)
        .values("campaign_id")
        .annotate(
            attempts=Count("pk"),
            contacts=Count("pk", filter=Q(outcome__contacted=True)),
            conversions=Count("pk", filter=Q(outcome__converted=True)),
        )
    }
    names = dict(Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", "name"))
    rows = []
    for row in entries:
        extra = attempts.get(row["campaign_id"], {})
        total = row["total"]
        rows.append(
            {
                **row,
                "name": names.get(row["campaign_id"], ""),
                "attempts": extra.get("attempts", 0),
                "contacts": extra.get("contacts", 0),
                "conversions": extra.get("conversions", 0),
                "percent_done": round(100 * row["done"] / total) if total else 0,
            }
        )
    return sorted(rows, key=lambda r: -r["campaign_id"])


# Reports -----------------------------------------------------------------------------------------------------------
@dataclass
class CallFigures:
    """Attempts, contacts, conversions, talk time and cost of one group, with the rates derived from them."""

    key: Any
    label: str
    attempts: int
    contacts: int
    conversions: int
    talk_seconds: int
    wrap_up_seconds: int
    cost: Decimal

    @property
    def contact_rate(self) -> float:
        return round(100 * self.contacts / self.attempts, 1) if self.attempts else 0.0

    @property
    def conversion_rate(self) -> float:
        return round(100 * self.conversions / self.contacts, 1) if self.contacts else 0.0

    @property
    def cost_per_call(self) -> Decimal:
        return (self.cost / self.attempts).quantize(Decimal("0.01")) if self.attempts else Decimal("0")

    @property
    def cost_per_conversion(self) -> Decimal | None:
        return (self.cost / self.conversions).quantize(Decimal("0.01")) if self.conversions else None

    @property
    def talk_minutes(self) -> float:
        return round(self.talk_seconds / 60, 1)


_FIGURES = {
    "attempts": Count("pk"),
    "contacts": Count("pk", filter=Q(outcome__contacted=True)),
    "conversions": Count("pk", filter=Q(outcome__converted=True)),
    "talk": Sum("talk_seconds"),
    "wrap_up": Sum("wrap_up_seconds"),
    "total_cost": Sum("cost"),
}


def _attempts(*, since: dt.datetime | None, until: dt.datetime | None, campaign_id: int | None) -> Any:
    attempts = CallAttempt.objects.filter(state=AttemptState.DONE)
    if since is not None:
        attempts = attempts.filter(started_at__gte=since)
    if until is not None:
        attempts = attempts.filter(started_at__lt=until)
    if campaign_id is not None:
        attempts = attempts.filter(campaign_id=campaign_id)
    return attempts


def _figures(key: Any, label: str, row: dict[str, Any]) -> CallFigures:
    return CallFigures(
        key=key,
        label=label,
        attempts=row["attempts"],
        contacts=row["contacts"],
        conversions=row["conversions"],
        talk_seconds=row["talk"] or 0,
        wrap_up_seconds=row["wrap_up"] or 0,
        cost=row["total_cost"] or Decimal("0"),
    )


def call_report_by_campaign(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[CallFigures]:
    """Attempts, contact rate, conversions, talk time and cost per campaign (one grouped query)."""
    rows = (
        _attempts(since=since, until=until, campaign_id=None)
        .values("campaign_id", "campaign__name")
        .annotate(**_FIGURES)
        .order_by("-campaign_id")
    )
    return [_figures(row["campaign_id"], row["campaign__name"], row) for row in rows]


def call_report_by_agent(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None, campaign_id: int | None = None
) -> list[CallFigures]:
    """The same figures per agent (attempts the dialer closed without an agent are under no agent)."""
    rows = (
        _attempts(since=since, until=until, campaign_id=campaign_id)
        .values("agent_id", "agent__user__username", "agent__user__first_name", "agent__user__last_name")
        .annotate(**_FIGURES)
        .order_by("agent__user__username")
    )
    return [
        _figures(
            row["agent_id"],
            " ".join(filter(None, [row["agent__user__first_name"], row["agent__user__last_name"]]))
            or row["agent__user__username"]
            or "",
            row,
        )
        for row in rows
    ]


@dataclass
class AudienceFigures:
    """Time and cost of the calls and follow-ups of one target segment."""

    segment_id: int
    name: str
    calls: CallFigures
    followups: int
    followups_resolved: int
    followup_hours: float  # from opening to resolution, summed over resolved follow-ups


def call_report_by_segment(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[AudienceFigures]:
    """Per target segment of the campaigns called: the calls' figures and the follow-ups they opened (a campaign
    with two target segments counts under both)."""
    attempts = _attempts(since=since, until=until, campaign_id=None).filter(
        campaign__target_segments__isnull=False
    )
    resolution = ExpressionWrapper(
        F("followup__resolved_at") - F("followup__created_at"), output_field=DurationField()
    )
    rows = (
        attempts.values("campaign__target_segments", "campaign__target_segments__name")
        .annotate(
            **_FIGURES,
            followups=Count("followup", distinct=True),
            followups_resolved=Count(
                "followup", filter=Q(followup__status=FollowUpStatus.RESOLVED), distinct=True
            ),
            followup_time=Sum(resolution, filter=Q(followup__status=FollowUpStatus.RESOLVED)),
        )
        .order_by("campaign__target_segments__name")
    )
    result = []
    for row in rows:
        spent = row["followup_time"]
        if isinstance(spent, int | float):  # some backends answer microseconds
            spent = dt.timedelta(microseconds=spent)
        result.append(
            AudienceFigures(
                segment_id=row["campaign__target_segments"],
                name=row["campaign__target_segments__name"],
                calls=_figures(row["campaign__target_segments"], row["campaign__target_segments__name"], row),
                followups=row["followups"],
                followups_resolved=row["followups_resolved"],
                followup_hours=round(spent.total_seconds() / 3600, 1) if spent else 0.0,
            )
        )
    return result


def agent_queue(*, agent: Agent, limit: int = 10) -> list[CallEntry]:
    """The next entries waiting for this agent (callbacks first), for the console's queue list."""
    now = timezone.now()
    return list(
        CallEntry.objects.filter(agent=agent, state__in=[EntryState.QUEUED, EntryState.CALLBACK])
        .select_related("customer", "campaign")
        .order_by("next_call_at", "pk")
        .filter(next_call_at__lte=now + dt.timedelta(days=1))[:limit]
    )
