"""Fill the database named by DATABASE_URL with demo customers and report the rate.

DATABASE_URL=postgres://... .venv/bin/python bench/generate_customers.py --customers 1000000
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
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from navid.customers.demo import demo_generate
    from navid.customers.models import Consent

    call_command("migrate", interactive=False, verbosity=0)
    consents_before = Consent.objects.count()
    started = time.perf_counter()

    def progress(done: int) -> None:
        elapsed = time.perf_counter() - started
        print(
            f"\r{done:>10,} / {args.customers:,} customers  {done / elapsed:>8,.0f}/s  {elapsed:>7.1f} s",
            end="",
            flush=True,
        )

    print(f"{connection.vendor}: generating {args.customers:,} customers (seed {args.seed})")
    result = demo_generate(
        customers=args.customers, seed=args.seed, months=args.months, batch=args.batch, progress=progress
    )
    consents = Consent.objects.count() - consents_before
    rows = result.customers + result.holdings + result.transactions + consents
    print()
    print(f"customers     {result.customers:>12,}")
    print(f"holdings      {result.holdings:>12,}")
    print(f"transactions  {result.transactions:>12,}")
    print(f"consents      {consents:>12,}")
    print(f"rows          {rows:>12,}  in {result.seconds:,.1f} s")
    print(
        f"rate          {result.customers / result.seconds:>12,.0f} customers/s  ({rows / result.seconds:,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()
