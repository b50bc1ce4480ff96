"""Search and list-page benchmark on a database filled by bench/generate_customers.py.

    DATABASE_URL=... python bench/search_customers.py --queries 200

Server time of the real views and selectors, in-process (no network): search by part of a name, by a phone
typed the local way, and the customer list page with two filters. Prints p50 and p95 per scenario.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _time(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from navid.accounts.roles import Role
    from navid.accounts.services import roles_sync, user_role_add
    from navid.customers.models import Customer

    rng = random.Random(args.seed)
    total = Customer.objects.count()
    max_id = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
    sample = []
    while len(sample) < args.queries:
        row = (
            Customer.objects.filter(id=rng.randint(1, max_id))
            .values("last_name", "phone", "region_id", "status")
            .first()
        )
        if row and row["last_name"] and row["phone"]:
            sample.append(row)
    roles_sync()
    user, _ = get_user_model().objects.get_or_create(username="bench-analyst")
    user_role_add(user=user, role=Role.MARKETING_ANALYST)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    names = iter([s["last_name"][: max(3, len(s["last_name"]) - 1)] for s in sample])
    phones = iter(["0" + s["phone"][3:] if s["phone"].startswith("+98") else s["phone"] for s in sample])
    filters = iter([(s["region_id"], s["status"]) for s in sample])

    def get(url: str, **params: object) -> None:
        url = f"{url}?{urlencode(params)}"
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    results = {
        "search by part of a last name (page)": _time(
            lambda: get("/customers/", q=next(names)), args.queries
        ),
        "search by phone, local format (page)": _time(
            lambda: get("/customers/", q=next(phones)), args.queries
        ),
        "list page, region + status filters": _time(
            lambda: get("/customers/", **dict(zip(("region", "status"), next(filters), strict=True))),
            args.queries,
        ),
    }
    print(f"{connection.vendor}, {total:,} customers, {args.queries} requests per scenario")
    for name, samples in results.items():
        p50, p95 = _percentiles(samples)
        print(f"  {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
