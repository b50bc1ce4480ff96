"""Import benchmark: N valid customer rows from CSV, with validation, median of several runs.

    DATABASE_URL=... python bench/import_customers.py --rows 1000000 --runs 3

Each run starts from an empty customers table (the regions of the file exist), imports the file through the
same code as `navid import customers`, and prints rows/s. The CSV is made by bench/make_import_csv.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    csv_path = ROOT / "var" / "bench" / f"customers-{args.rows}.csv"
    if not csv_path.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "make_import_csv.py"),
                "--rows",
                str(args.rows),
                "--out",
                str(csv_path),
            ],
            check=True,
        )

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from navid.accounts.models import Region
    from navid.customers.models import ConversionEvent, Customer, ImportJob
    from navid.customers.services import import_job_create, import_job_run

    call_command("migrate", verbosity=0)
    for code in ("tehran", "isfahan", "fars", "moscow", "saint-petersburg"):
        Region.objects.get_or_create(code=code, defaults={"name_en": code})
    rates = []
    for run in range(args.runs):
        with connection.cursor() as cursor:
            ConversionEvent.objects.all().delete()
            cursor.execute("DELETE FROM customers_customer")
            if connection.vendor == "sqlite":
                cursor.execute("INSERT INTO customer_search(customer_search) VALUES ('delete-all')")
                cursor.execute("VACUUM")
            else:
                cursor.execute("VACUUM ANALYZE customers_customer")
        with csv_path.open("rb") as handle:
            job = import_job_create(actor=None, file_name=csv_path.name, content=handle)
        started = time.perf_counter()
        job = import_job_run(job_id=job.pk)
        elapsed = time.perf_counter() - started
        assert job.state == ImportJob.State.SUCCEEDED, job.message
        assert Customer.objects.count() == args.rows
        rates.append(args.rows / elapsed)
        print(f"run {run + 1}: {args.rows} rows in {elapsed:.1f} s = {rates[-1]:,.0f} rows/s", flush=True)
        Path(job.stored_path).unlink(missing_ok=True)
    print(f"{connection.vendor}: median {statistics.median(rates):,.0f} rows/s over {args.runs} runs")


if __name__ == "__main__":
    main()
