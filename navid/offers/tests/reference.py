"""The first, batch-by-batch next best offer of a segment and cross-product count: kept as the reference.

The set-based code in `navid.offers.nbo` and `navid.offers.crossproduct` must give exactly what these give (one
eligibility query per product and batch, features per batch of ids, a Python loop per customer; the self-join of
holdings). Slow, simple and obviously right: only the tests use it.
"""

from __future__ import annotations

import datetime as dt
import heapq
from typing import Any

from django.db import connection
from django.db.models import Q

from navid.customers.models import Customer, ProductHolding
from navid.offers.eligibility import NO_RULES, eligibility_q
from navid.offers.nbo import _context, _expected, _fallback
from navid.offers.propensity import propensity_scores
from navid.segments.models import Segment
from navid.segments.selectors import segment_members

# (expected value, customer id, product id, propensity, from a model, products held)
Row = tuple[object, int, int, float, bool, frozenset[int]]


def reference_segment_rows(*, segment: Segment, limit: int, as_of: dt.date, batch: int = 2_000) -> list[Row]:
    """Each member's best offer, the `limit` best first, computed batch by batch as before."""
    ctx = _context(as_of)
    members = segment_members(segment=segment, user=None)
    heap: list[tuple[Any, ...]] = []
    last = 0
    while ctx.products:
        ids = list(members.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        last = ids[-1]
        held: dict[int, set[int]] = {cid: set() for cid in ids}
        open_on_day = Q(opened_on__lte=as_of) & (Q(closed_on__isnull=True) | Q(closed_on__gt=as_of))
        for cid, pid in ProductHolding.objects.filter(open_on_day, customer_id__in=ids).values_list(
            "customer_id", "product_type_id"
        ):
            held[cid].add(pid)
        eligible: dict[int, set[int]] = {}
        for pid in ctx.products:
            rules = ctx.rules.get(pid)
            if rules is None or rules == NO_RULES:
                eligible[pid] = set(ids)
            else:
                eligible[pid] = set(
                    Customer.objects.filter(pk__in=ids)
                    .filter(eligibility_q(rules, as_of=as_of))
                    .values_list("pk", flat=True)
                )
        score_ids, scores = propensity_scores(customer_ids=ids, as_of=as_of, models=ctx.models)
        row_of = {int(cid): i for i, cid in enumerate(score_ids)}
        for cid in ids:
            best = None
            mine = frozenset(held[cid])
            for pid, offer in ctx.offers.items():
                if pid not in ctx.products or pid in mine or cid not in eligible[pid]:
                    continue
                if pid in scores:
                    propensity, from_model = float(scores[pid][row_of[cid]]), True
                else:
                    propensity, from_model = _fallback(ctx, pid, mine), False
                entry = (_expected(offer, propensity), -cid, pid, propensity, from_model, mine)
                if best is None or (entry[0], -entry[2]) > (best[0], -best[2]):
                    best = entry
            if best is None:
                continue
            if len(heap) < limit:
                heapq.heappush(heap, best)
            elif best[:2] > heap[0][:2]:
                heapq.heapreplace(heap, best)
    return [(ev, -negative, pid, p, m, held) for ev, negative, pid, p, m, held in sorted(heap, reverse=True)]


REFERENCE_PAIRS_SQL = """
WITH held AS (
    SELECT DISTINCT h.customer_id, h.product_type_id
    FROM customers_productholding h JOIN customers_customer c ON c.id = h.customer_id
    WHERE c.deleted_at IS NULL AND h.opened_on <= %s AND (h.closed_on IS NULL OR h.closed_on > %s)
),
singles AS (SELECT product_type_id, COUNT(*) AS n FROM held GROUP BY product_type_id),
total AS (SELECT COUNT(DISTINCT customer_id) AS n FROM held)
SELECT a.product_type_id, b.product_type_id, total.n, sa.n, sb.n, COUNT(*)
FROM held a
JOIN held b ON b.customer_id = a.customer_id AND b.product_type_id <> a.product_type_id
JOIN singles sa ON sa.product_type_id = a.product_type_id
JOIN singles sb ON sb.product_type_id = b.product_type_id
CROSS JOIN total
GROUP BY a.product_type_id, b.product_type_id, total.n, sa.n, sb.n
"""


def reference_pair_counts(*, as_of: dt.date) -> set[tuple[int, int, int, int, int, int]]:
    """(A, B, customers, holding A, holding B, holding both) for every pair held together, by the self-join."""
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_PAIRS_SQL, [as_of, as_of])
        return {
            (int(a), int(b), int(n), int(na), int(nb), int(nab)) for a, b, n, na, nb, nab in cursor.fetchall()
        }
