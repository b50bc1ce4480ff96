"""REST API of loyalty: a customer's points (balance, tier, entries) and redemption."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from navid.core.errors import PermissionDenied
from navid.customers.selectors import customer_get
from navid.loyalty import selectors, services
from navid.loyalty.models import PointsEntry

router = Router(tags=["loyalty"])

PAGE_SIZE_MAX = 200


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class EntryOut(Schema):
    id: int
    kind: str
    points: int
    source_ref: str
    occurred_at: dt.datetime
    expires_at: dt.datetime | None
    note: str


class PointsOut(Schema):
    customer_id: int
    balance: int = Field(description="the sum of the ledger's entries")
    tier: str | None = Field(
        description="code of the tier reached with the points earned in the last 12 months"
    )
    earned_12_months: int
    next_tier: str | None
    points_to_next_tier: int | None
    expiring_30_days: int
    page: int
    pages: int
    entries: list[EntryOut] = Field(description="newest first")


class PagingIn(Schema):
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=PAGE_SIZE_MAX)


class RedeemIn(Schema):
    points: int = Field(description="a whole number of points, at most the balance", ge=1)
    idempotency_key: str = Field(
        min_length=1, max_length=120, description="the same key again does nothing more"
    )
    note: str = Field(default="", max_length=200)


def _entry(e: PointsEntry) -> EntryOut:
    return EntryOut(
        id=e.pk,
        kind=e.kind,
        points=e.points,
        source_ref=e.source_ref,
        occurred_at=e.occurred_at,
        expires_at=e.expires_at,
        note=e.note,
    )


@router.get("/customers/{customer_id}/points", response=PointsOut)
def customer_points(request: HttpRequest, customer_id: int, paging: Query[PagingIn]) -> PointsOut:
    """The customer's balance, tier and one page of the ledger."""
    _require(request, "loyalty.view_pointsentry")
    customer = customer_get(user=request.user, pk=customer_id)
    statement = selectors.points_statement(customer=customer, page=paging.page, page_size=paging.page_size)
    status = statement.status
    return PointsOut(
        customer_id=customer.pk,
        balance=statement.balance,
        tier=status.tier.code if status.tier else None,
        earned_12_months=status.earned_12_months,
        next_tier=status.next_tier.code if status.next_tier else None,
        points_to_next_tier=status.points_to_next,
        expiring_30_days=statement.expiring,
        page=statement.entries.number,
        pages=statement.entries.paginator.num_pages,
        entries=[_entry(e) for e in statement.entries],
    )


@router.post("/customers/{customer_id}/points/redeem", response={201: EntryOut})
def customer_points_redeem(request: HttpRequest, customer_id: int, data: RedeemIn) -> Status:
    """Redeem points; a repeated idempotency key returns the first redemption (409 if it was another one)."""
    _require(request, "loyalty.redeem_points")
    customer = customer_get(user=request.user, pk=customer_id)
    entry = services.points_redeem(
        customer=customer,
        points=data.points,
        actor=request.user,
        idempotency_key=data.idempotency_key,
        note=data.note,
    )
    return Status(201, _entry(entry))
