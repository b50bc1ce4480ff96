"""Next best offer (R7.1): eligible products not yet held, ranked by propensity x value to the bank, with reasons.

A product is a candidate when it has an active offer today (the offer gives the value to the bank), the customer
does not hold it, and its eligibility rules let the customer in. Its propensity is the current model's score; a
product without a usable model falls back to the cross-product matrix (the highest confidence of A -> product
over the products A held) or, failing that, the share of customers holding it, and the reasons say so.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.customers.models import Customer, ProductHolding, ProductType
from navid.offers.eligibility import NO_RULES, EligibilityRules, customer_facts, eligibility_q, rules_failures
from navid.offers.models import CrossProductStat, Offer, ProductRule, ProductSegmentTarget, PropensityModel
from navid.offers.propensity import current_models, propensity_scores
from navid.segments.models import Segment
from navid.segments.selectors import segment_members

SEGMENT_BATCH = 2_000
LIFT_SHOWN = 1.1  # a cross-product link is a reason only from this lift on

# (expected value, -customer id, product id, propensity, from a model, products held)
_Row = tuple[Decimal, int, int, float, bool, frozenset[int]]


@dataclass
class Recommendation:
    customer_id: int
    product: ProductType
    offer: Offer
    propensity: float
    expected_value: Decimal
    reasons: list[str] = field(default_factory=list)


@dataclass
class _Context:
    """What every customer's ranking needs, read once."""

    as_of: dt.date
    offers: dict[int, Offer]
    products: dict[int, ProductType]
    rules: dict[int, EligibilityRules]
    stats: dict[tuple[int, int], CrossProductStat]
    base_rates: dict[int, float]
    models: dict[int, PropensityModel]


def active_offers(*, as_of: dt.date) -> dict[int, Offer]:
    """The active offer of highest value valid on `as_of`, by product id."""
    offers = (
        Offer.objects.filter(is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=as_of))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=as_of))
        .select_related("product_type")
        .order_by("product_type_id", "-value_to_bank", "pk")
    )
    best: dict[int, Offer] = {}
    for offer in offers:
        best.setdefault(offer.product_type_id, offer)
    return best


def _context(as_of: dt.date | None) -> _Context:
    day = as_of or timezone.localdate()
    offers = active_offers(as_of=day)
    products = {pid: o.product_type for pid, o in offers.items() if o.product_type.is_active}
    rules = {
        r.product_type_id: EligibilityRules.model_validate(r.rules)
        for r in ProductRule.objects.filter(product_type_id__in=products)
    }
    stats = {
        (s.antecedent_id, s.consequent_id): s
        for s in CrossProductStat.objects.select_related("antecedent", "consequent")
    }
    base_rates = {b: s.consequent_count / s.customers for (_a, b), s in stats.items()}
    return _Context(day, offers, products, rules, stats, base_rates, current_models())


def _reasons_and_propensity(
    ctx: _Context, product_id: int, held: Iterable[int], model_score: float | None
) -> tuple[float, list[str]]:
    """The propensity to use and the reasons in words (model, cross-product), without the matrix."""
    reasons: list[str] = []
    product = ctx.products[product_id]
    links = [ctx.stats[(a, product_id)] for a in held if (a, product_id) in ctx.stats]
    best_lift = max(links, key=lambda s: s.lift, default=None)
    if best_lift is not None and best_lift.lift >= LIFT_SHOWN:
        reasons.append(
            _("holds %(held)s: customers who do are %(lift)s times as likely to hold %(product)s")
            % {"held": best_lift.antecedent, "lift": f"{best_lift.lift:.1f}", "product": product}
        )
    if model_score is not None:
        model = ctx.models[product_id]
        reasons.append(
            _("propensity %(p)s from the model (AUC %(auc)s)")
            % {"p": f"{model_score:.2f}", "auc": f"{model.auc:.2f}" if model.auc is not None else "–"}
        )
        return model_score, reasons
    best_confidence = max(links, key=lambda s: s.confidence, default=None)
    if best_confidence is not None:
        reasons.append(
            _("no model yet: propensity %(p)s is the share of holders of %(held)s who also hold it")
            % {"p": f"{best_confidence.confidence:.2f}", "held": best_confidence.antecedent}
        )
        return best_confidence.confidence, reasons
    rate = ctx.base_rates.get(product_id, 0.0)
    reasons.append(
        _("no model yet: propensity %(p)s is the share of customers holding it") % {"p": f"{rate:.2f}"}
    )
    return rate, reasons


def _expected(offer: Offer, propensity: float) -> Decimal:
    return (Decimal(str(round(propensity, 6))) * offer.value_to_bank).quantize(Decimal("0.01"))


def next_best_offers_for_customer(
    *, customer: Customer, limit: int = 5, as_of: dt.date | None = None
) -> list[Recommendation]:
    """The best `limit` offers for one customer, best first, each with its reasons."""
    ctx = _context(as_of)
    facts = customer_facts(customer=customer, as_of=ctx.as_of)
    held_ids = set(
        ProductHolding.objects.filter(customer=customer, product_type__code__in=facts.held).values_list(
            "product_type_id", flat=True
        )
    )
    candidates = [
        pid
        for pid, product in ctx.products.items()
        if product.code not in facts.held
        and not rules_failures(ctx.rules.get(pid, NO_RULES), facts=facts, as_of=ctx.as_of)
    ]
    if not candidates:
        return []
    _ids, scores = propensity_scores(
        customer_ids=[customer.pk],
        as_of=ctx.as_of,
        models={p: ctx.models[p] for p in candidates if p in ctx.models},
    )
    targets = _matching_targets(customer=customer, product_ids=candidates)
    result = []
    for pid in candidates:
        score = float(scores[pid][0]) if pid in scores else None
        propensity, reasons = _reasons_and_propensity(ctx, pid, held_ids, score)
        reasons += [
            _("the product-segment matrix targets the segment %(segment)s (%(priority)s priority)")
            % {"segment": t.segment.name, "priority": t.get_priority_display()}
            for t in targets.get(pid, [])
        ]
        offer = ctx.offers[pid]
        result.append(
            Recommendation(
                customer.pk, ctx.products[pid], offer, propensity, _expected(offer, propensity), reasons
            )
        )
    result.sort(key=lambda r: (-r.expected_value, r.product.code))
    return result[:limit]


def _matching_targets(*, customer: Customer, product_ids: list[int]) -> dict[int, list[ProductSegmentTarget]]:
    """Matrix cells for these products whose segment the customer belongs to (one query per targeted segment)."""
    targets = (
        ProductSegmentTarget.objects.filter(product_type_id__in=product_ids, segment__is_archived=False)
        .select_related("segment")
        .order_by("priority", "segment__name")
    )
    member: dict[int, bool] = {}
    found: dict[int, list[ProductSegmentTarget]] = {}
    for target in targets:
        if target.segment_id not in member:
            member[target.segment_id] = (
                segment_members(segment=target.segment, user=None).filter(pk=customer.pk).exists()
            )
        if member[target.segment_id]:
            found.setdefault(target.product_type_id, []).append(target)
    return found


def next_best_offers_for_segment(
    *, segment: Segment, user: Any, limit: int = 100, as_of: dt.date | None = None
) -> list[Recommendation]:
    """For the members of `segment` that `user` sees: each one's best offer, the `limit` best of those first.

    Members are read in batches of SEGMENT_BATCH ids; memory holds one batch and the `limit` best rows.
    """
    ctx = _context(as_of)
    members = segment_members(segment=segment, user=user)
    targeted = dict(
        ProductSegmentTarget.objects.filter(segment=segment).values_list("product_type_id", "priority")
    )
    priorities = dict(ProductSegmentTarget.Priority.choices)
    heap: list[_Row] = []
    last = 0
    while ctx.products:
        batch = list(members.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:SEGMENT_BATCH])
        if not batch:
            break
        last = batch[-1]
        _score_batch(ctx, batch, heap, limit)
    result = []
    for ev, negative_id, pid, score, from_model, held in sorted(heap, reverse=True):
        cid = -negative_id
        propensity, reasons = _reasons_and_propensity(ctx, pid, held, score if from_model else None)
        if pid in targeted:
            reasons.append(
                _("the product-segment matrix targets the segment %(segment)s (%(priority)s priority)")
                % {"segment": segment.name, "priority": priorities[targeted[pid]]}
            )
        result.append(Recommendation(cid, ctx.products[pid], ctx.offers[pid], propensity, ev, reasons))
    return result


def _score_batch(ctx: _Context, batch: list[int], heap: list[_Row], limit: int) -> None:
    """Push the best offer of each customer in `batch` onto the bounded heap of the `limit` best."""
    held: dict[int, set[int]] = {cid: set() for cid in batch}
    day = ctx.as_of
    open_on_day = Q(opened_on__lte=day) & (Q(closed_on__isnull=True) | Q(closed_on__gt=day))
    for cid, pid in ProductHolding.objects.filter(open_on_day, customer_id__in=batch).values_list(
        "customer_id", "product_type_id"
    ):
        held[cid].add(pid)
    eligible: dict[int, set[int]] = {}
    for pid in ctx.products:
        rules = ctx.rules.get(pid)
        if rules is None or rules == NO_RULES:
            eligible[pid] = set(batch)
        else:
            eligible[pid] = set(
                Customer.objects.filter(pk__in=batch)
                .filter(eligibility_q(rules, as_of=day))
                .values_list("pk", flat=True)
            )
    ids, scores = propensity_scores(customer_ids=batch, as_of=day, models=ctx.models)
    row_of = {int(cid): i for i, cid in enumerate(ids)}
    for cid in batch:
        best: _Row | None = None
        mine = frozenset(held[cid])
        for pid, offer in ctx.offers.items():
            if pid not in ctx.products or pid in mine or cid not in eligible[pid]:
                continue
            if pid in scores:
                propensity, from_model = float(scores[pid][row_of[cid]]), True
            else:
                propensity, from_model = _fallback(ctx, pid, mine), False
            entry = (_expected(offer, propensity), -cid, pid, propensity, from_model, mine)
            # Equal expected values: the lower product id wins, so a ranking never depends on dict order.
            if best is None or (entry[0], -entry[2]) > (best[0], -best[2]):
                best = entry
        if best is None:
            continue
        # A min-heap of the `limit` best: (value, -id) is unique per customer, so tuples never compare further.
        if len(heap) < limit:
            heapq.heappush(heap, best)
        elif best[:2] > heap[0][:2]:
            heapq.heapreplace(heap, best)


def _fallback(ctx: _Context, product_id: int, held: frozenset[int]) -> float:
    confidences = [ctx.stats[(a, product_id)].confidence for a in held if (a, product_id) in ctx.stats]
    return max(confidences) if confidences else ctx.base_rates.get(product_id, 0.0)
