"""Loyalty benchmark: earning the whole history set-based, the nightly expiry and tier refresh, a points segment.

    DATABASE_URL=... .venv/bin/python bench/generate_customers.py --customers 50000
    DATABASE_URL=... .venv/bin/python bench/loyalty.py --runs 3

Each run empties the ledger, then times: `points_earn_pending` over every transaction and product holding (one
INSERT ... SELECT per earn rule), `points_expire` (one INSERT ... SELECT), `tiers_refresh` (DELETE + one
INSERT ... SELECT), the count of the segment "points balance >= 1000 and tier gold or platinum", and the points
statement of 200 customers (median and 95th percentile). It prints the median of the runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

SEGMENT = {
    "version": 1,
    "root": {
        "children": [
            {"type": "loyalty_points", "test": {"operator": "gte", "value": 1000}},
            {"type": "loyalty_tier", "tiers": ["gold", "platinum"]},
        ]
    },
}


def one_run(now: Any, sample: list[int]) -> dict[str, float]:
    from django.db import connection

    from navid.customers.models import Customer
    from navid.loyalty import selectors, services
    from navid.loyalty.models import CustomerTier, EarnWatermark, PointsEntry
    from navid.segments.rules import definition_parse
    from navid.segments.selectors import segment_queryset

    with connection.cursor() as cursor:
        for model in (PointsEntry, CustomerTier, EarnWatermark):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {PointsEntry._meta.db_table}")
    figures: dict[str, float] = {}
    started = time.perf_counter()
    earned = services.points_earn_pending(now=now)
    figures["earn_s"] = time.perf_counter() - started
    figures["entries"] = float(sum(earned.values()))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PointsEntry._meta.db_table}")
    started = time.perf_counter()
    figures["expired"] = float(services.points_expire(now=now))
    figures["expire_s"] = time.perf_counter() - started
    started = time.perf_counter()
    figures["tiers"] = float(services.tiers_refresh(now=now))
    figures["tiers_s"] = time.perf_counter() - started
    definition = definition_parse(SEGMENT)
    started = time.perf_counter()
    figures["segment_members"] = float(segment_queryset(definition=definition, user=None, now=now).count())
    figures["segment_s"] = time.perf_counter() - started
    timings = []
    for pk in sample:
        customer = Customer.objects.get(pk=pk)
        started = time.perf_counter()
        statement = selectors.points_statement(customer=customer, now=now)
        list(statement.entries)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    figures["statement_median_ms"] = statistics.median(timings)
    figures["statement_p95_ms"] = timings[int(len(timings) * 0.95) - 1]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from navid.customers.demo import reference_lists_ensure
    from navid.customers.models import Customer, ProductHolding, Transaction
    from navid.loyalty.demo import loyalty_demo_seed
    from navid.offers.demo import offers_demo_seed

    call_command("migrate", interactive=False, verbosity=0)
    reference_lists_ensure()
    offers_demo_seed(train=False)
    now = timezone.now()
    loyalty_demo_seed(now=now)  # rules and tiers (the points it earns are emptied by each run)
    ids = list(Customer.objects.values_list("pk", flat=True))
    sample = random.Random(7).sample(ids, min(200, len(ids)))
    print(
        f"{connection.vendor}: {len(ids):,} customers, {Transaction.objects.count():,} transactions,"
        f" {ProductHolding.objects.count():,} holdings; load average {os.getloadavg()}"
    )
    runs = []
    for number in range(args.runs):
        figures = one_run(now, sample)
        runs.append(figures)
        print(f"run {number + 1}: " + ", ".join(f"{k} {v:,.3f}" for k, v in figures.items()), flush=True)
    print("median: " + ", ".join(f"{k} {statistics.median(r[k] for r in runs):,.3f}" for k in runs[0]))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
