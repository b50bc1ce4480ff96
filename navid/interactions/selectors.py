"""Reads of the interactions app: a customer's timeline and the signals derived from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.core.errors import NotFound, ValidationFailed
from navid.customers.models import Customer
from navid.customers.selectors import customers_visible_to
from navid.interactions.models import Interaction, InteractionIngestJob, InteractionKind

TIMELINE_PAGE_SIZE = 20


def interactions_visible_to(*, user: Any) -> QuerySet[Interaction]:
    """The interactions of the customers a user may see."""
    return Interaction.objects.filter(customer__in=customers_visible_to(user=user))


def interaction_get(*, user: Any, pk: int) -> Interaction:
    """One interaction of a customer the user may see, or NotFound."""
    interaction = (
        interactions_visible_to(user=user)
        .select_related("employee", "complaint_category", "returned_product")
        .filter(pk=pk)
        .first()
    )
    if interaction is None:
        raise NotFound(pk)
    return interaction


def customer_timeline(
    *,
    customer: Customer,
    kinds: Iterable[str] | None = None,
    page: int = 1,
    page_size: int = TIMELINE_PAGE_SIZE,
) -> Page[Interaction]:
    """One page of everything that happened with the customer, newest first, optionally of some kinds only."""
    chosen = [k for k in kinds or () if k]
    unknown = [k for k in chosen if k not in InteractionKind.values]
    if unknown:
        raise ValidationFailed(
            {"kind": [_("must be one of: %(values)s") % {"values": ", ".join(InteractionKind.values)}]}
        )
    qs = Interaction.objects.filter(customer=customer)
    if chosen:
        qs = qs.filter(kind__in=chosen)
    qs = qs.select_related("employee", "complaint_category", "returned_product").order_by(
        "-occurred_at", "-id"
    )
    return Paginator(qs, page_size).get_page(page)


@dataclass(frozen=True)
class CustomerSignals:
    """Figures derived from a customer's interactions up to a moment; computed when asked, never stored.

    A contact is any interaction, in or out, on any channel.
    """

    last_contact_at: dt.datetime | None
    contacts_30d: int
    contacts_90d: int
    complaints: int
    open_requests: int


def customer_signals(*, customer: Customer, now: dt.datetime | None = None) -> CustomerSignals:
    """Last contact, contacts in the last 30 and 90 days, complaints and open requests, counted up to `now`."""
    now = now or timezone.now()
    row = Interaction.objects.filter(customer=customer, occurred_at__lte=now).aggregate(
        last_contact_at=Max("occurred_at"),
        contacts_30d=Count("id", filter=Q(occurred_at__gt=now - dt.timedelta(days=30))),
        contacts_90d=Count("id", filter=Q(occurred_at__gt=now - dt.timedelta(days=90))),
        complaints=Count("id", filter=Q(kind=InteractionKind.COMPLAINT)),
        open_requests=Count("id", filter=Q(request_open=True)),
    )
    return CustomerSignals(**row)


def ingest_jobs_of(*, user: Any, limit: int = 10) -> QuerySet[InteractionIngestJob]:
    """The latest ingest jobs a user started."""
    return InteractionIngestJob.objects.filter(actor_id=user.pk)[:limit]
