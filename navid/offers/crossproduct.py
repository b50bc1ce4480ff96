"""The cross-product matrix: for every ordered pair of products A -> B, support, confidence and lift.

Counted over the live customers holding at least one product on the day (N), from one aggregate query (how many
customers hold each distinct set of products):

- support(A -> B)    = customers holding A and B / N
- confidence(A -> B) = customers holding A and B / customers holding A
- lift(A -> B)       = confidence(A -> B) / (customers holding B / N)

A lift of 2.3 reads "customers who hold A are 2.3 times as likely to hold B as customers in general".
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

from django.db import connection, transaction
from django.utils import timezone

from navid.customers.models import Customer, ProductHolding
from navid.offers.models import CrossProductStat

# One row per distinct set of products held, with how many customers hold exactly that set: a bank's million
# customers hold a few hundred different sets, so the pairs are counted from those rows in Python instead of a
# self-join of millions of (customer, product) rows. A deleted customer is left out by an anti-join on the
# (small, partially indexed) set of deleted customers rather than a join with every customer.
_BASKETS_SQL = """
SELECT basket, COUNT(*) FROM (
    SELECT h.customer_id, {aggregate} AS basket
    FROM {holding} h
    WHERE h.opened_on <= %s AND (h.closed_on IS NULL OR h.closed_on > %s)
      AND NOT EXISTS (SELECT 1 FROM {customer} c WHERE c.id = h.customer_id AND c.deleted_at IS NOT NULL)
    GROUP BY h.customer_id
) per_customer
GROUP BY basket
"""
_AGGREGATES = {
    "postgresql": "string_agg(DISTINCT h.product_type_id::text, ',')",
    "sqlite": "group_concat(DISTINCT h.product_type_id)",
}


def basket_counts(*, as_of: dt.date) -> dict[tuple[int, ...], int]:
    """Customers by the set of products they hold on `as_of` (ascending product ids); nobody holding none."""
    sql = _BASKETS_SQL.format(
        aggregate=_AGGREGATES[connection.vendor],
        holding=ProductHolding._meta.db_table,
        customer=Customer._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of, as_of])
        rows = cursor.fetchall()
    baskets: Counter[tuple[int, ...]] = Counter()
    for basket, customers in rows:
        # The order inside an aggregate is not guaranteed: the same set may come back as two strings.
        baskets[tuple(sorted(int(p) for p in str(basket).split(",")))] += customers
    return dict(baskets)


def pair_counts(baskets: dict[tuple[int, ...], int]) -> list[tuple[int, int, int, int, int, int]]:
    """(A, B, customers, holding A, holding B, holding both) for every ordered pair held together."""
    total = sum(baskets.values())
    singles: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    for basket, customers in baskets.items():
        for a in basket:
            singles[a] += customers
        for a, b in itertools.permutations(basket, 2):
            pairs[(a, b)] += customers
    return [(a, b, total, singles[a], singles[b], both) for (a, b), both in sorted(pairs.items())]


@transaction.atomic
def cross_product_compute(*, as_of: dt.date | None = None) -> int:
    """Recompute and store the matrix from the holdings open on `as_of` (today); returns the pairs stored."""
    day = as_of or timezone.localdate()
    rows = pair_counts(basket_counts(as_of=day))
    now = timezone.now()
    stats = [
        CrossProductStat(
            antecedent_id=a,
            consequent_id=b,
            customers=n,
            antecedent_count=na,
            consequent_count=nb,
            pair_count=nab,
            support=nab / n,
            confidence=nab / na,
            lift=(nab / na) / (nb / n),
            computed_at=now,
        )
        for a, b, n, na, nb, nab in rows
    ]
    # A pair nobody holds together has no row: the page shows it as 0.
    CrossProductStat.objects.all().delete()
    CrossProductStat.objects.bulk_create(stats, batch_size=1000)
    return len(stats)
