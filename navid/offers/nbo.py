"""Next best offer (R7.1): eligible products not yet held, ranked by propensity x value to the bank, with reasons.

A product is a candidate when it has an active offer today (the offer gives the value to the bank), the customer
does not hold it, and its eligibility rules let the customer in. Its propensity is the current model's score; a
product without a usable model falls back to the cross-product matrix (the highest confidence of A -> product
over the products A held) or, failing that, the share of customers holding it, and the reasons say so.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.customers.models import Customer, ProductType
from navid.offers.eligibility import (
    NO_RULES,
    EligibilityRules,
    customer_facts,
    facts_frame,
    rules_failures,
    rules_mask,
)
from navid.offers.features import FeatureTable, feature_table_within
from navid.offers.models import CrossProductStat, Offer, ProductRule, ProductSegmentTarget, PropensityModel
from navid.offers.pipeline import pipeline_score
from navid.offers.propensity import current_models, propensity_scores, usable_models
from navid.segments.models import Segment, StaticMember
from navid.segments.selectors import segment_members

LIFT_SHOWN = 1.1  # a cross-product link is a reason only from this lift on

# (expected value, customer id, product id, propensity, from a model, products held)
_Row = tuple[Decimal, int, int, float, bool, frozenset[int]]


@dataclass
class Recommendation:
    customer_id: int
    product: ProductType
    offer: Offer
    propensity: float
    expected_value: Decimal
    reasons: list[str] = field(default_factory=list)


class _Link(NamedTuple):
    """One cell A -> B of the cross-product matrix, as the ranking reads it."""

    antecedent: ProductType
    confidence: float
    lift: float


@dataclass
class _Context:
    """What every customer's ranking needs, read once."""

    as_of: dt.date
    offers: dict[int, Offer]
    products: dict[int, ProductType]
    rules: dict[int, EligibilityRules]
    stats: dict[tuple[int, int], _Link]
    base_rates: dict[int, float]
    models: dict[int, PropensityModel]


def active_offers(*, as_of: dt.date, with_rules: bool = False) -> dict[int, Offer]:
    """The active offer of highest value valid on `as_of`, by product id (with the product's rules row if asked)."""
    offers = (
        Offer.objects.filter(is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=as_of))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=as_of))
        .select_related("product_type__offer_rule" if with_rules else "product_type")
        .order_by("product_type_id", "-value_to_bank", "pk")
    )
    best: dict[int, Offer] = {}
    for offer in offers:
        best.setdefault(offer.product_type_id, offer)
    return best


def _context(as_of: dt.date | None) -> _Context:
    day = as_of or timezone.localdate()
    offers = active_offers(as_of=day, with_rules=True)
    products = {pid: o.product_type for pid, o in offers.items() if o.product_type.is_active}
    rules = {}
    for pid, product in products.items():
        row: ProductRule | None = getattr(product, "offer_rule", None)  # None: the product has no rules row
        if row is not None:
            rules[pid] = EligibilityRules.model_validate(row.rules)
    # The matrix as plain tuples: hundreds of rows, read on every call, so no model instances.
    types = {p.pk: p for p in ProductType.objects.all()}
    stats: dict[tuple[int, int], _Link] = {}
    base_rates: dict[int, float] = {}
    for a, b, confidence, lift, holding_b, customers in CrossProductStat.objects.values_list(
        "antecedent_id", "consequent_id", "confidence", "lift", "consequent_count", "customers"
    ):
        stats[(a, b)] = _Link(types[a], confidence, lift)
        base_rates[b] = holding_b / customers
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
    held_ids = facts.held_ids
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
            member[target.segment_id] = _is_member(target.segment, customer)
        if member[target.segment_id]:
            found.setdefault(target.product_type_id, []).append(target)
    return found


def _is_member(segment: Segment, customer: Customer) -> bool:
    """Whether the live `customer` is a member of `segment` now (no user: what the segment holds)."""
    if segment.kind == Segment.Kind.STATIC:
        # Through the list's (segment, customer) index: as `pk IN (the list)` SQLite reads the whole list first
        # (50 ms for 100,000 members). The same rows as `segment_members`: listed and not deleted.
        return StaticMember.objects.filter(
            segment=segment, customer=customer, customer__deleted_at__isnull=True
        ).exists()
    return segment_members(segment=segment, user=None).filter(pk=customer.pk).exists()


def next_best_offers_for_segment(
    *, segment: Segment, user: Any, limit: int = 100, as_of: dt.date | None = None
) -> list[Recommendation]:
    """For the members of `segment` that `user` sees: each one's best offer, the `limit` best of those first.

    Set-based: the members' ids go once into a temporary table; their facts, features and holdings are read by a
    few grouped queries over it, eligibility for every product is computed in numpy from the facts, and each
    model scores, in one call, the members for whom its product is a candidate. Memory holds the members' arrays
    (about 1 KB a member with 20 products) and the `limit` best rows.
    """
    ctx = _context(as_of)
    if not ctx.products or limit < 1:
        return []
    members = segment_members(segment=segment, user=user)
    targeted = dict(
        ProductSegmentTarget.objects.filter(segment=segment).values_list("product_type_id", "priority")
    )
    priorities = dict(ProductSegmentTarget.Priority.choices)
    with transaction.atomic(), _members_table(members) as (ids, within):
        rows = _best_rows(ctx, ids, within, limit)
    result = []
    for ev, cid, pid, score, from_model, held in rows:
        propensity, reasons = _reasons_and_propensity(ctx, pid, held, score if from_model else None)
        if pid in targeted:
            reasons.append(
                _("the product-segment matrix targets the segment %(segment)s (%(priority)s priority)")
                % {"segment": segment.name, "priority": priorities[targeted[pid]]}
            )
        result.append(Recommendation(cid, ctx.products[pid], ctx.offers[pid], propensity, ev, reasons))
    return result


@contextmanager
def _members_table(members: QuerySet[Customer]) -> Iterator[tuple[np.ndarray, RawSQL]]:
    """The members' ids, ascending, and a subquery reading them from a temporary table (dropped afterwards).

    Call inside a transaction: if anything fails, its rollback drops the table as well.
    """
    name = f"offers_nbo_members_{uuid.uuid4().hex[:12]}"
    sql, params = members.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} (id bigint PRIMARY KEY)")
        insert = f"INSERT INTO {name} (id) SELECT DISTINCT m.* FROM ({sql}) m"  # noqa: S608 - Django's own SQL
        cursor.execute(insert, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {name}")  # temporary tables are never analysed on their own
        cursor.execute(f"SELECT id FROM {name} ORDER BY id")  # noqa: S608 - a generated name
        ids = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
    yield ids, RawSQL(f"SELECT id FROM {name}", [])  # noqa: S608, S611 - a generated name, no input
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}")


def _best_rows(ctx: _Context, ids: np.ndarray, within: Any, limit: int) -> list[_Row]:
    """Each member's best offer, the `limit` best of those: (value, customer, product, propensity, model, held).

    The same choice as ranking each customer on their own: the highest expected value, on a tie the lower
    product id; among customers the higher value, on a tie the lower customer id. Expected values are exact
    (integer cents, rounded half to even as `_expected` does), so no tie is decided by floating point.
    """
    day = ctx.as_of
    offered = sorted(pid for pid in ctx.offers if pid in ctx.products)  # ascending: argmax keeps the lowest
    need_income = any(ctx.rules.get(pid, NO_RULES).min_income for pid in offered)
    frame = facts_frame(ids=ids, within=within, as_of=day, with_deposits=need_income)
    column_of = {int(pid): j for j, pid in enumerate(frame.product_ids)}
    candidate = np.zeros((len(ids), len(offered)), dtype=bool)
    for k, pid in enumerate(offered):
        rules = ctx.rules.get(pid, NO_RULES)
        eligible = rules_mask(rules, frame=frame, as_of=day) if rules != NO_RULES else True
        candidate[:, k] = eligible & ~frame.held[:, column_of[pid]]

    propensity = np.zeros(candidate.shape, dtype=float)
    from_model = np.zeros(len(offered), dtype=bool)
    usable = usable_models(ctx.models)
    tables: dict[tuple[str, ...], FeatureTable] = {}
    for k, pid in enumerate(offered):
        rows = np.flatnonzero(candidate[:, k])
        if pid in usable:
            model, estimator = usable[pid]
            names = tuple(model.feature_names)
            if names not in tables:
                tables[names] = feature_table_within(ids=ids, within=within, as_of=day, names=names)
            propensity[rows, k] = pipeline_score(model=estimator, features=tables[names].values[rows])
            from_model[k] = True
        else:
            propensity[rows, k] = _fallback_many(ctx, pid, frame.held[rows], frame.product_ids)
    tables.clear()

    cents = _expected_cents(propensity, [ctx.offers[pid].value_to_bank for pid in offered])
    cents[~candidate] = -1
    best = np.argmax(cents, axis=1)
    best_cents = cents[np.arange(len(ids)), best]
    chosen = np.flatnonzero(best_cents >= 0)
    if cents.dtype == object:  # values too large for int64 cents: exact Python integers, sorted in Python
        top = sorted(chosen, key=lambda i: (-best_cents[i], ids[i]))[:limit]
    else:
        top = list(chosen[np.lexsort((ids[chosen], -best_cents[chosen]))][:limit])
    result: list[_Row] = []
    for i in top:
        k = int(best[i])
        held = frozenset(int(p) for p in frame.product_ids[frame.held[i]])
        value = Decimal(int(best_cents[i])).scaleb(-2)
        result.append((value, int(ids[i]), offered[k], float(propensity[i, k]), bool(from_model[k]), held))
    return result


def _expected_cents(propensity: np.ndarray, values: list[Decimal]) -> np.ndarray:
    """`_expected` in integer cents for every cell: round(p, 6) x value, rounded half to even to the cent."""
    scaled = propensity * 1e6
    micro = np.rint(scaled)
    # Where p x 10^6 lies within reach of a half, float rounding may differ from round(p, 6): ask Python.
    doubtful = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
    for i, k in zip(*np.nonzero(doubtful), strict=True):
        micro[i, k] = float(Decimal(str(round(float(propensity[i, k]), 6))) * 1_000_000)
    value_cents = [int(v * 100) for v in values]
    exact_in_int64 = max(value_cents, default=0) < (2**63 - 1) // 1_000_000
    dtype: Any = np.int64 if exact_in_int64 else object
    products = micro.astype(np.int64).astype(dtype) * np.array(value_cents, dtype=dtype)
    whole, rest = products // 1_000_000, products % 1_000_000
    up = (rest > 500_000) | ((rest == 500_000) & (whole % 2 == 1))
    return np.asarray(whole + up.astype(np.int64).astype(dtype), dtype=dtype)


def _fallback_many(ctx: _Context, product_id: int, held: np.ndarray, product_ids: np.ndarray) -> np.ndarray:
    """`_fallback` for many customers: `held` is their rows of the facts frame's held matrix."""
    confidence = np.zeros(len(product_ids))
    linked = np.zeros(len(product_ids), dtype=bool)
    for j, a in enumerate(product_ids):
        stat = ctx.stats.get((int(a), product_id))
        if stat is not None:
            confidence[j], linked[j] = stat.confidence, True
    any_link = (held & linked).any(axis=1)
    best = np.where(held & linked, confidence, -np.inf).max(axis=1, initial=-np.inf)
    return np.where(any_link, best, ctx.base_rates.get(product_id, 0.0))


def _fallback(ctx: _Context, product_id: int, held: frozenset[int]) -> float:
    confidences = [ctx.stats[(a, product_id)].confidence for a in held if (a, product_id) in ctx.stats]
    return max(confidences) if confidences else ctx.base_rates.get(product_id, 0.0)
