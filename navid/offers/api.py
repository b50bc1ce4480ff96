"""REST API of offers: next best offers of a customer or a segment, and the list of offers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from navid.core.errors import NotFound, PermissionDenied
from navid.customers.selectors import customer_get
from navid.offers import selectors
from navid.offers.nbo import Recommendation, next_best_offers_for_customer, next_best_offers_for_segment
from navid.segments.models import Segment

router = Router(tags=["offers"])

SEGMENT_LIMIT_MAX = 10_000


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class OfferOut(Schema):
    id: int
    name: str
    product: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    value_to_bank: Decimal
    landing_url: str = Field(description="the offer's landing page; empty when it has none")
    is_active: bool


class RecommendationOut(Schema):
    customer_id: int
    product: str = Field(description="product type code")
    product_name: str
    offer_id: int
    offer_name: str
    propensity: float
    value_to_bank: Decimal
    expected_value: Decimal = Field(description="propensity x value to the bank")
    reasons: list[str]


def _out(r: Recommendation) -> RecommendationOut:
    return RecommendationOut(
        customer_id=r.customer_id,
        product=r.product.code,
        product_name=str(r.product),
        offer_id=r.offer.pk,
        offer_name=r.offer.name,
        propensity=round(r.propensity, 6),
        value_to_bank=r.offer.value_to_bank,
        expected_value=r.expected_value,
        reasons=r.reasons,
    )


@router.get("/offers", response=list[OfferOut])
def list_offers(request: HttpRequest) -> list[OfferOut]:
    """Every offer, active first."""
    _require(request, "offers.view_offer")
    return [
        OfferOut(
            id=o.pk,
            name=o.name,
            product=o.product_type.code,
            valid_from=o.valid_from,
            valid_until=o.valid_until,
            value_to_bank=o.value_to_bank,
            landing_url=o.landing_url,
            is_active=o.is_active,
        )
        for o in selectors.offers_list()
    ]


class NboQuery(Schema):
    limit: int = Field(5, ge=1, le=50)


@router.get("/customers/{customer_id}/next-best-offers", response=list[RecommendationOut])
def customer_next_best_offers(
    request: HttpRequest, customer_id: int, query: Query[NboQuery]
) -> list[RecommendationOut]:
    """The customer's best offers, best first: eligible, not held, ranked by expected value, with reasons."""
    _require(request, "offers.view_next_best_offers")
    customer = customer_get(user=request.user, pk=customer_id)
    return [_out(r) for r in next_best_offers_for_customer(customer=customer, limit=query.limit)]


class SegmentNboQuery(Schema):
    limit: int = Field(100, ge=1, le=SEGMENT_LIMIT_MAX)


@router.get("/segments/{segment_id}/next-best-offers", response=list[RecommendationOut])
def segment_next_best_offers(
    request: HttpRequest, segment_id: int, query: Query[SegmentNboQuery]
) -> list[RecommendationOut]:
    """Each member's best offer; the `limit` members with the highest expected value first."""
    _require(request, "offers.view_next_best_offers")
    _require(request, "segments.view_segment")
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise NotFound("segment")
    return [
        _out(r) for r in next_best_offers_for_segment(segment=segment, user=request.user, limit=query.limit)
    ]
