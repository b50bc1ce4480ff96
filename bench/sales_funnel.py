"""Sales funnel and KPI benchmark: `sales_funnel`, `manager_kpis` and `conversions_over_time` over N leads.

    NAVID_VAR_DIR=/tmp/bench .venv/bin/python manage.py migrate
    NAVID_VAR_DIR=/tmp/bench .venv/bin/python bench/sales_funnel.py --leads 100000 --runs 3

Set-up (once, kept between runs): N bare customers (one in five converted, with a ConversionEvent spread over
twelve months), 20 relationship managers, and one lead per customer written with bulk_create: each lead has gone
through a random number of stages (a span per stage with its seconds), a fifth lost, a tenth won with a value.
Each run reads the three dashboard queries as a user who sees every customer (a superuser), with the default
period (all leads), and reports the median of the runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

PREFIX = "bench-funnel"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from navid.customers.models import ConversionEvent, Customer
    from navid.sales import selectors
    from navid.sales.models import Lead, LeadStageSpan
    from navid.sales.pipeline import FORWARD

    rng = random.Random(11)
    user_model = get_user_model()
    viewer, _ = user_model.objects.get_or_create(username=f"{PREFIX}-viewer", defaults={"is_superuser": True})
    have = Lead.objects.filter(source_ref__startswith=f"{PREFIX}:").count()
    if have < args.leads:
        started = time.perf_counter()
        now = timezone.now()
        managers = [user_model.objects.get_or_create(username=f"{PREFIX}-rm-{n}")[0] for n in range(20)]
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [
                    Customer(first_name="Bench", last_name=str(n), status="prospect")
                    for n in range(have, args.leads)
                ],
                batch_size=5000,
            )
            events = [
                ConversionEvent(
                    customer=c,
                    occurred_at=now - timedelta(days=rng.randrange(365)),
                    source=rng.choice(["application", "campaign", "manual"]),
                )
                for c in customers
                if rng.random() < 0.2
            ]
            ConversionEvent.objects.bulk_create(events, batch_size=5000)
            leads = []
            plans = []
            for n, customer in enumerate(customers, start=have):
                depth = rng.randrange(1, 5)
                end = rng.random()
                final = "won" if end < 0.1 else "lost" if end < 0.3 else FORWARD[depth - 1].value
                created = now - timedelta(days=rng.randrange(1, 365))
                leads.append(
                    Lead(
                        customer=customer,
                        source="manual",
                        source_ref=f"{PREFIX}:{n}",
                        stage=final,
                        stage_entered_at=created,
                        assignee=rng.choice(managers),
                        assigned_at=created,
                        response_seconds=rng.randrange(600, 200_000) if depth > 1 else None,
                        value=Decimal(rng.randrange(1, 100) * 100_000) if final == "won" else Decimal("0"),
                    )
                )
                plans.append((created, depth, final))
            Lead.objects.bulk_create(leads, batch_size=5000)
            spans = []
            for lead, (created, depth, final) in zip(leads, plans, strict=True):
                at = created
                stages = [s.value for s in FORWARD[:depth]]
                if final in ("won", "lost"):
                    stages.append(final)
                for i, stage in enumerate(stages):
                    open_now = i == len(stages) - 1 and stage not in ("won", "lost")
                    stay = 0 if stage in ("won", "lost") else rng.randrange(3600, 10 * 86400)
                    spans.append(
                        LeadStageSpan(
                            lead=lead,
                            stage=stage,
                            entered_at=at,
                            left_at=None if open_now else at + timedelta(seconds=stay),
                            seconds=None if open_now else stay,
                        )
                    )
                    at += timedelta(seconds=stay)
            LeadStageSpan.objects.bulk_create(spans, batch_size=5000)
        print(
            f"set-up: {args.leads - have} leads, {len(spans)} spans in {time.perf_counter() - started:.1f} s"
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE sales_lead; ANALYZE sales_leadstagespan; ANALYZE customers_conversionevent"
            )
    timings: dict[str, list[float]] = {
        "funnel": [],
        "kpis": [],
        "conversions by source (fa)": [],
        "conversions by campaign": [],
    }
    for _run in range(args.runs):
        for name, call in (
            ("funnel", lambda: selectors.sales_funnel(user=viewer)),
            ("kpis", lambda: selectors.manager_kpis(user=viewer)),
            (
                "conversions by source (fa)",
                lambda: selectors.conversions_over_time(user=viewer, language="fa"),
            ),
            (
                "conversions by campaign",
                lambda: selectors.conversions_over_time(user=viewer, dimension="campaign"),
            ),
        ):
            started = time.perf_counter()
            result = call()
            timings[name].append(time.perf_counter() - started)
            assert result is not None
    total = Lead.objects.count()
    print(f"{connection.vendor}, {total} leads, {LeadStageSpan.objects.count()} spans, runs: {args.runs}")
    for name, values in timings.items():
        print(f"{name}: median {statistics.median(values):.3f} s ({', '.join(f'{v:.3f}' for v in values)})")


if __name__ == "__main__":
    main()
