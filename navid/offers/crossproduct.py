"""The cross-product matrix: for every ordered pair of products A -> B, support, confidence and lift.

Counted over the live customers holding at least one product on the day (N), with one aggregate query:

- support(A -> B)    = customers holding A and B / N
- confidence(A -> B) = customers holding A and B / customers holding A
- lift(A -> B)       = confidence(A -> B) / (customers holding B / N)

A lift of 2.3 reads "customers who hold A are 2.3 times as likely to hold B as customers in general".
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from navid.customers.models import Customer, ProductHolding
from navid.offers.models import CrossProductStat

_PAIRS_SQL = """
WITH held AS (
    SELECT DISTINCT h.customer_id, h.product_type_id
    FROM {holding} h JOIN {customer} c ON c.id = h.customer_id
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


@transaction.atomic
def cross_product_compute(*, as_of: dt.date | None = None) -> int:
    """Recompute and store the matrix from the holdings open on `as_of` (today); returns the pairs stored."""
    day = as_of or timezone.localdate()
    sql = _PAIRS_SQL.format(holding=ProductHolding._meta.db_table, customer=Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, day])
        rows = cursor.fetchall()
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
