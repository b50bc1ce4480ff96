"""Fill the database named by DATABASE_URL with demo interactions for every customer it holds; report the rate.

DATABASE_URL=postgres://... .venv/bin/python bench/generate_interactions.py --per-customer 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing


def main() -> None:
    """Migrate, generate, print what was written and how fast."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-customer", type=float, default=5.0, help="mean interactions per customer")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--batch", type=int, default=20_000, help="customers per transaction")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from navid.customers.models import Customer
    from navid.interactions.demo import interactions_generate

    call_command("migrate", interactive=False, verbosity=0)
    total = Customer.objects.filter(deleted_at__isnull=True).count()
    started = time.perf_counter()

    def progress(customers: int, interactions: int) -> None:
        elapsed = time.perf_counter() - started
        print(
            f"\r{customers:>10,} / {total:,} customers  {interactions:>12,} interactions  "
            f"{interactions / elapsed:>9,.0f}/s  {elapsed:>7.1f} s",
            end="",
            flush=True,
        )

    print(
        f"{connection.vendor}: {args.per_customer} interactions a customer for {total:,} customers (seed {args.seed})"
    )
    result = interactions_generate(
        seed=args.seed,
        per_customer_mean=args.per_customer,
        months=args.months,
        batch=args.batch,
        progress=progress,
    )
    print()
    print(f"customers     {result.customers:>12,}")
    print(f"interactions  {result.interactions:>12,}  in {result.seconds:,.1f} s")
    print(f"rate          {result.interactions / max(result.seconds, 1e-9):>12,.0f} interactions/s")


if __name__ == "__main__":
    main()
