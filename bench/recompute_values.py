"""Time the recompute of every customer's ranking, value and lifecycle on the database named by DATABASE_URL.

DATABASE_URL=postgres://... .venv/bin/python bench/recompute_values.py --runs 3

Works on whatever customers exist (fill them with bench/generate_customers.py). Prints the customers, the
median time of the runs with its phases, and customers per second.

The demo data has no customer who stops buying, so the BG/NBD drop-out cannot be estimated on it and the
recompute falls back to "potential value = actual value", skipping the potential value computation. So
that the timing covers the work done on data that fits, the script then lets the runs use the published
CDNOW parameters (scaled to the data's mean spend) and says so; --as-is times the fallback instead.
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


def main() -> None:
    """Migrate, run the recompute --runs times, print the median and its phases."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--as-is", action="store_true", help="time the fallback when the models do not fit")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.db import connection

    from navid.customers.models import Customer, Transaction
    from navid.segments import clv, value_services

    call_command("migrate", interactive=False, verbosity=0)
    customers = Customer.objects.count()
    transactions = Transaction.objects.count()
    print(f"{connection.vendor}: {customers:,} customers, {transactions:,} transactions, {args.runs} runs")

    real_fit = value_services._fit
    substituted: list[str] = []

    def fit_or_published(history: Any) -> Any:
        """The real fit; when it fails, the CDNOW estimates with Gamma-Gamma scaled to this data's spend."""
        bg, gg, errors = real_fit(history)
        if errors and not args.as_is:
            substituted[:] = errors
            repeat = history.frequency > 0
            mean_spend = float(np.mean(history.monetary[repeat])) if np.any(repeat) else 1.0
            published = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
            scale = mean_spend / (published.p * published.gamma / (published.q - 1))
            bg = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
            gg = clv.GammaGammaParams(p=published.p, q=published.q, gamma=published.gamma * scale)
            errors = []
        return bg, gg, errors

    value_services._fit = fit_or_published
    seconds: list[float] = []
    reports = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        report = value_services.values_recompute()
        elapsed = time.perf_counter() - started
        seconds.append(elapsed)
        reports.append(report)
        phases = ", ".join(f"{name} {value:.1f} s" for name, value in report.phases.items())
        print(f"run {run}: {elapsed:7.1f} s  ({phases})", flush=True)
    median = statistics.median(seconds)
    middle = reports[seconds.index(median)] if median in seconds else reports[-1]
    print(f"customers     {middle.customers:>12,}")
    print(f"median        {median:>12.1f} s")
    print(f"rate          {middle.customers / median:>12,.0f} customers/s")
    print(f"priorities    {middle.priorities}")
    print(f"lifecycles    {middle.lifecycles}")
    if substituted:
        print("the purchase models did not fit this data, so the runs used the published CDNOW parameters:")
        for error in substituted:
            print(f"  {error}")
    for warning in middle.warnings:
        print(f"warning: {warning}")


if __name__ == "__main__":
    main()
