"""Reads of loyalty: balances, statements, tiers, earn rules, and the loyalty index with its parts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet, Sum
from django.utils import timezone

from navid.customers.models import Customer
from navid.loyalty.models import EARN_KINDS, CustomerTier, EarnRule, PointsEntry, Tier
from navid.loyalty.services import add_months
from navid.offers.models import Offer
from navid.segments.value_services import LoyaltyExplanation, loyalty_index_explain

STATEMENT_PAGE_SIZE = 20
EXPIRING_DAYS = 30


def points_balance(*, customer: Customer) -> int:
    """The customer's balance: the sum of the ledger's entries (never stored)."""
    total = PointsEntry.objects.filter(customer=customer).aggregate(total=Sum("points"))["total"]
    return int(total or 0)


def points_entries(*, customer: Customer) -> QuerySet[PointsEntry]:
    """The customer's ledger, newest first."""
    return PointsEntry.objects.filter(customer=customer).select_related("rule", "created_by")


def points_earned_12_months(*, customer: Customer, now: dt.datetime | None = None) -> int:
    """Points earned (not redeemed or expired) in the 12 months up to `now`: what tiers are reached with."""
    now = now or timezone.now()
    total = PointsEntry.objects.filter(
        customer=customer, kind__in=EARN_KINDS, occurred_at__gt=add_months(now, -12), occurred_at__lte=now
    ).aggregate(total=Sum("points"))["total"]
    return int(total or 0)


def points_expiring(*, customer: Customer, now: dt.datetime | None = None, days: int = EXPIRING_DAYS) -> int:
    """Points that will expire within `days` unless used first (consumed soonest-expiring first)."""
    now = now or timezone.now()
    rows = PointsEntry.objects.filter(customer=customer)
    used = -int(rows.filter(points__lt=0).aggregate(total=Sum("points"))["total"] or 0)
    due = int(
        rows.filter(
            points__gt=0, expires_at__isnull=False, expires_at__lte=now + dt.timedelta(days=days)
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    return max(0, due - used)


@dataclass(frozen=True)
class TierStatus:
    """Where a customer stands: the tier reached now, the next one and the points still needed for it."""

    earned_12_months: int
    tier: Tier | None
    next_tier: Tier | None
    points_to_next: int | None


def tier_status(*, customer: Customer, now: dt.datetime | None = None) -> TierStatus:
    """The customer's tier computed now from the ledger (the nightly CustomerTier row may be older)."""
    earned = points_earned_12_months(customer=customer, now=now)
    tier = Tier.objects.filter(threshold__lte=earned).order_by("-threshold").first()
    next_tier = Tier.objects.filter(threshold__gt=earned).order_by("threshold").first()
    return TierStatus(
        earned_12_months=earned,
        tier=tier,
        next_tier=next_tier,
        points_to_next=None if next_tier is None else next_tier.threshold - earned,
    )


def customer_tier_stored(*, customer: Customer) -> CustomerTier | None:
    """The tier of the last nightly refresh (what segments filter on)."""
    return CustomerTier.objects.filter(customer=customer).select_related("tier").first()


@dataclass(frozen=True)
class Statement:
    """A customer's points statement: balance, tier, what expires soon, and one page of the ledger."""

    balance: int
    expiring: int
    expiring_days: int
    status: TierStatus
    tier_offers: list[Offer]
    entries: Page[PointsEntry]


def points_statement(
    *, customer: Customer, page: int = 1, now: dt.datetime | None = None, page_size: int = STATEMENT_PAGE_SIZE
) -> Statement:
    """Everything the statement shows for one customer."""
    now = now or timezone.now()
    status = tier_status(customer=customer, now=now)
    offers = tier_offers(tier=status.tier) if status.tier is not None else []
    paginator = Paginator(points_entries(customer=customer), page_size)
    return Statement(
        balance=points_balance(customer=customer),
        expiring=points_expiring(customer=customer, now=now),
        expiring_days=EXPIRING_DAYS,
        status=status,
        tier_offers=offers,
        entries=paginator.get_page(page),
    )


def tier_offers(*, tier: Tier, on: dt.date | None = None) -> list[Offer]:
    """The tier's offers that are active and valid on the day."""
    day = on or timezone.localdate()
    return [
        offer
        for offer in tier.offers.filter(is_active=True).select_related("product_type").order_by("name")
        if (offer.valid_from is None or offer.valid_from <= day)
        and (offer.valid_until is None or offer.valid_until >= day)
    ]


def tiers_list() -> QuerySet[Tier]:
    """Every tier, lowest threshold first, with its offers."""
    return Tier.objects.prefetch_related("offers").order_by("threshold")


def earn_rules_list() -> QuerySet[EarnRule]:
    """Every earn rule, active first."""
    return EarnRule.objects.select_related("product_type").order_by("-is_active", "kind", "id")


def loyalty_index_parts(*, customer: Customer, now: dt.datetime | None = None) -> LoyaltyExplanation:
    """The loyalty index with each part's contribution, as the nightly value run computes it (segments)."""
    return loyalty_index_explain(customer=customer, now=now)
