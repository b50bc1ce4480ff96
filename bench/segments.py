"""Segment benchmark: the reference segment's count, its ratio to hand-written SQL, and a 200,000-member snapshot.

    DATABASE_URL=... .venv/bin/python bench/generate_customers.py --customers 1000000
    DATABASE_URL=... .venv/bin/python bench/generate_interactions.py --per-customer 5
    DATABASE_URL=... .venv/bin/python bench/segments.py --runs 3

The reference segment (seed 003): clients of a region who have not met a bank consultant in the last 3 months,
with turnover last month above 100,000, who do not use credit. It is counted through Navid's compiler and by a
hand-written query for the same count; both must agree. The snapshot freezes a segment of about 200,000
customers (customers of the largest region, shrunk or widened to come close) with one INSERT ... SELECT.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

REFERENCE_REGION = "isfahan"


def reference_definition(region: str) -> dict[str, Any]:
    return {
        "version": 1,
        "root": {
            "type": "group",
            "op": "and",
            "children": [
                {"type": "field", "field": "status", "operator": "eq", "value": "customer"},
                {"type": "field", "field": "region", "operator": "in", "value": [region]},
                {
                    "type": "interaction",
                    "measure": "count",
                    "kinds": ["meeting", "branch_visit"],
                    "window": {"kind": "last_days", "days": 90},
                    "test": {"operator": "eq", "value": 0},
                },
                {
                    "type": "transaction",
                    "measure": "sum",
                    "window": {"kind": "previous_month", "calendar": "jalali"},
                    "test": {"operator": "gt", "value": 100000},
                },
                {"type": "product", "has": False, "credit": True},
            ],
        },
    }


# Written by hand as a database developer would: existence tests as (anti) joins, the month's turnover as a
# subquery per candidate customer through the (customer, time) index.
HAND_WRITTEN = """
SELECT COUNT(*) FROM customers_customer c
WHERE c.deleted_at IS NULL AND c.status = 'customer' AND c.region_id = %s
  AND NOT EXISTS (
    SELECT 1 FROM interactions_interaction i
    WHERE i.customer_id = c.id AND i.kind IN ('meeting', 'branch_visit') AND i.occurred_at >= %s)
  AND (SELECT COALESCE(SUM(t.amount), 0) FROM customers_transaction t
       WHERE t.customer_id = c.id AND t.occurred_at >= %s AND t.occurred_at < %s) > 100000
  AND NOT EXISTS (
    SELECT 1 FROM customers_productholding h JOIN customers_producttype p ON p.id = h.product_type_id
    WHERE h.customer_id = c.id AND h.closed_on IS NULL AND p.is_credit)
"""


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--snapshot-size", type=int, default=200_000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from navid.accounts.models import Region
    from navid.customers.models import Customer, Transaction
    from navid.interactions.models import Interaction
    from navid.segments import rules
    from navid.segments.compiler import Context, compile_definition, window_bounds
    from navid.segments.models import Segment, Snapshot, SnapshotMember
    from navid.segments.services import snapshot_take

    call_command("migrate", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    sizes = {
        "customers": Customer.objects.count(),
        "transactions": Transaction.objects.count(),
        "interactions": Interaction.objects.count(),
    }
    print(f"{connection.vendor}: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items()), flush=True)

    definition = rules.definition_parse(reference_definition(REFERENCE_REGION))
    now = timezone.now()
    base = Customer.objects.filter(deleted_at__isnull=True)

    def navid_count() -> int:
        return base.filter(compile_definition(definition, context=Context(now=now))).count()

    region_id = Region.objects.get(code=REFERENCE_REGION).pk
    month_start, month_end = window_bounds(definition.root.children[3].window, Context(now=now))  # type: ignore[union-attr]
    meeting_since = now - timezone.timedelta(days=90)

    def hand_count() -> int:
        with connection.cursor() as cursor:
            # Times as the ORM stores them (on SQLite: naive UTC text), so the comparisons are the same.
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(
                HAND_WRITTEN, [region_id, adapt(meeting_since), adapt(month_start), adapt(month_end)]
            )
            return int(cursor.fetchone()[0])

    navid_times, hand_times = [], []
    for run in range(args.runs):
        seconds, count = _timed(navid_count)
        navid_times.append(seconds)
        hand_seconds, hand = _timed(hand_count)
        hand_times.append(hand_seconds)
        if count != hand:
            raise SystemExit(f"the two counts differ: Navid {count}, hand-written {hand}")
        print(
            f"run {run + 1}: {count:,} members; Navid {seconds:.2f} s, hand-written SQL {hand_seconds:.2f} s"
        )
    navid_median, hand_median = statistics.median(navid_times), statistics.median(hand_times)
    print(
        f"reference segment: median {navid_median:.2f} s (hand-written {hand_median:.2f} s, "
        f"ratio {navid_median / hand_median:.2f})",
        flush=True,
    )

    # A segment of about the wanted size: customers of the largest region, more regions until big enough.
    by_region = list(
        base.exclude(region=None).values("region__code").order_by().annotate(n=Count("id")).order_by("-n")
    )
    chosen, total = [], 0
    for row in by_region:
        chosen.append(row["region__code"])
        total += row["n"]
        if total >= args.snapshot_size:
            break
    snapshot_definition = {
        "version": 1,
        "root": {"children": [{"type": "field", "field": "region", "operator": "in", "value": chosen}]},
    }
    segment, _ = Segment.objects.update_or_create(
        name="bench: snapshot", defaults={"definition": snapshot_definition, "kind": "dynamic"}
    )
    snapshot_times = []
    for run in range(args.runs):
        snapshot = Snapshot.objects.create(segment=segment, definition=segment.definition)
        seconds, taken = _timed(lambda s=snapshot: snapshot_take(snapshot_id=s.pk))
        snapshot_times.append(seconds)
        print(f"snapshot run {run + 1}: {taken.member_count:,} members in {seconds:.2f} s", flush=True)
        SnapshotMember.objects.filter(snapshot=snapshot).delete()
        snapshot.delete()
    print(f"snapshot: median {statistics.median(snapshot_times):.2f} s")


if __name__ == "__main__":
    main()
