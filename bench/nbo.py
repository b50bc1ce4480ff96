"""Next best offer and the cross-product matrix at the issue's sizes.

    .venv/bin/python bench/nbo.py build            # once: fills PostgreSQL database navid_offersperf
    .venv/bin/python bench/nbo.py run --runs 3     # times segment NBO, one-customer NBO, cross-product matrix

`build` (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/navid_offersperf; the database is created
when missing, and a database already built is reused):

- 100,000 demo customers with 12 months of transactions (`navid.customers.demo.demo_generate`) and about five
  interactions each (`navid.interactions.demo.interactions_generate`): the segment;
- 900,000 more demo customers with their holdings, without transactions (`--months 0`);
- 11 more product types (20 in all), held by a few per cent of the customers each, opened over the last three
  years, more often by customers who hold a related demo product (so the models have something to learn);
- an offer and eligibility rules for each of the 20 products, the cross-product matrix, one propensity model per
  product trained on a sample of the first 100,000 customers;
- a static segment of the first 100,000 customers.

`compare` runs the first, batch-by-batch code of a segment's next best offers and the self-join of the matrix
once, and checks that the set-based code gives the same 100 best rows and the same pair counts.

On SQLite (DATABASE_URL=sqlite:////path/file.sqlite3) the same steps run; `--customers 100000` builds only the
segment's customers.

`run` prints the load average, then for each run: the next best offer of every member of the segment (100 best
kept), the next best offers of 50 customers of the segment one by one (median), and the cross-product matrix.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/navid_offersperf"
SEGMENT_NAME = "NBO benchmark: first 100,000 customers"
SEGMENT_SIZE = 100_000

# code, English name, is credit, related demo product (its holders take it three times as often), share in %
EXTRA_PRODUCTS: tuple[tuple[str, str, bool, str, float], ...] = (
    ("car-loan", "Car loan", True, "current-account", 3.0),
    ("student-loan", "Student loan", True, "savings-deposit", 1.5),
    ("overdraft", "Overdraft", True, "current-account", 4.0),
    ("gold-card", "Gold card", True, "credit-card", 2.0),
    ("prepaid-card", "Prepaid card", False, "debit-card", 5.0),
    ("mobile-banking", "Mobile banking", False, "internet-banking", 8.0),
    ("life-insurance", "Life insurance", False, "mortgage", 2.5),
    ("home-insurance", "Home insurance", False, "mortgage", 2.0),
    ("pension-plan", "Pension plan", False, "term-deposit", 2.5),
    ("mutual-fund", "Mutual fund", False, "term-deposit", 2.0),
    ("fx-account", "Foreign currency account", False, "current-account", 3.5),
)

EXTRA_OFFERS: dict[str, tuple[str, dict[str, Any]]] = {
    "car-loan": ("60000000", {"age_min": 21, "age_max": 65, "max_credit_products": 2, "no_overdrawn": True}),
    "student-loan": ("20000000", {"age_min": 18, "age_max": 30, "party_kinds": ["person"]}),
    "overdraft": ("6000000", {"requires_any": ["current-account"], "no_overdrawn": True}),
    "gold-card": ("15000000", {"age_min": 25, "requires_any": ["credit-card"], "min_income": "20000000"}),
    "prepaid-card": ("700000", {}),
    "mobile-banking": ("400000", {"requires_any": ["current-account", "savings-deposit"]}),
    "life-insurance": ("9000000", {"age_min": 18, "age_max": 60, "party_kinds": ["person"]}),
    "home-insurance": ("7000000", {"requires_any": ["mortgage"]}),
    "pension-plan": ("11000000", {"age_min": 25, "age_max": 55, "party_kinds": ["person"]}),
    "mutual-fund": ("13000000", {"age_min": 18, "excludes": ["loan"]}),
    "fx-account": ("2500000", {"age_min": 18, "regions": ["tehran", "isfahan", "moscow"]}),
}


def _setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        name = url.rsplit("/", 1)[1]
        listed = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SELECT datname FROM pg_database"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if name not in listed:
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    import django

    django.setup()


def _say(text: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:7.1f} s] {text}", flush=True)


def build(total: int) -> None:
    """Fill the database (each step skipped when already done)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from navid.customers.demo import demo_generate
    from navid.customers.models import Customer, ProductHolding, ProductType
    from navid.interactions.demo import interactions_generate
    from navid.interactions.models import Interaction
    from navid.offers.crossproduct import cross_product_compute
    from navid.offers.demo import DEMO_OFFERS
    from navid.offers.eligibility import rules_parse
    from navid.offers.models import Offer, ProductRule, ProductSegmentTarget, PropensityModel
    from navid.offers.propensity import propensity_train_all
    from navid.segments.models import Segment, StaticMember

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    _say("migrated", started)
    if Customer.objects.count() == 0:
        result = demo_generate(customers=SEGMENT_SIZE, seed=42, months=12, batch=5000)
        _say(f"{result.customers:,} customers, {result.transactions:,} transactions", started)
    first_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:SEGMENT_SIZE])
    if not Interaction.objects.exists():
        made = interactions_generate(seed=42, per_customer_mean=5, months=12, max_customer_id=first_ids[-1])
        _say(f"{made.interactions:,} interactions", started)
    have = Customer.objects.count()
    if have < total:
        result = demo_generate(customers=total - have, seed=43, months=0, batch=5000)
        _say(f"{result.customers:,} more customers, {result.holdings:,} holdings", started)
    with transaction.atomic():
        for order, (code, name, credit, _related, _share) in enumerate(EXTRA_PRODUCTS, start=100):
            ProductType.objects.get_or_create(
                code=code, defaults={"name_en": name, "is_credit": credit, "sort_order": order}
            )
    table = ProductHolding._meta.db_table
    extra_ids = dict(
        ProductType.objects.filter(code__in=[p[0] for p in EXTRA_PRODUCTS]).values_list("code", "pk")
    )
    if not ProductHolding.objects.filter(product_type_id__in=extra_ids.values()).exists():
        # random() in [0, 1) and a day in the last three years, in each database's dialect.
        chance, day = {
            "postgresql": ("random()", "CURRENT_DATE - (random() * 1095)::int"),
            "sqlite": (
                "(abs(random()) %% 1000000) / 1000000.0",
                "date('now', '-' || (abs(random()) %% 1095) || ' days')",
            ),
        }[connection.vendor]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT setseed(0.42)")
            for code, _name, _credit, related, share in EXTRA_PRODUCTS:
                related_id = ProductType.objects.get(code=related).pk
                # Holders of the related product take it three times as often; opened in the last three years.
                cursor.execute(
                    f"""
                    INSERT INTO {table} (created_at, updated_at, customer_id, product_type_id, account_number,
                                         opened_on, balance, currency)
                    SELECT CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, c.id, %s, '', {day}, 0, 'IRR'
                    FROM customers_customer c
                    WHERE c.customer_since IS NOT NULL
                      AND {chance} < %s / 100.0 * CASE WHEN EXISTS (
                          SELECT 1 FROM {table} h WHERE h.customer_id = c.id AND h.product_type_id = %s
                      ) THEN 3 ELSE 0.6 END
                    """,
                    [extra_ids[code], share, related_id],
                )
                _say(f"{code}: {cursor.rowcount:,} holdings", started)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    with transaction.atomic():
        for product in ProductType.objects.all():
            if product.code in DEMO_OFFERS:
                name, value, rules = DEMO_OFFERS[product.code]
            else:
                value, rules = EXTRA_OFFERS[product.code]
                name = f"{product.name_en} offer"
            if not Offer.objects.filter(product_type=product).exists():
                Offer.objects.create(name=name, product_type=product, value_to_bank=Decimal(value))
            ProductRule.objects.get_or_create(
                product_type=product,
                defaults={"rules": rules_parse(rules).model_dump(mode="json", exclude_defaults=True)},
            )
    pairs = cross_product_compute()
    _say(f"cross-product matrix: {pairs} pairs", started)
    if not PropensityModel.objects.filter(is_current=True).exists():
        report = propensity_train_all(limit=50_000)
        _say(f"models: {report.trained} trained, {report.too_little_data} with too little data", started)
    segment, made = Segment.objects.get_or_create(name=SEGMENT_NAME, defaults={"kind": Segment.Kind.STATIC})
    if made:
        StaticMember.objects.bulk_create(
            [StaticMember(segment=segment, customer_id=cid) for cid in first_ids], batch_size=10_000
        )
        _say(f"segment of {len(first_ids):,}", started)
    # The product-segment matrix targets three products at the segment (the reasons name it; one customer's ranking
    # checks membership of every targeted segment).
    for code, priority in (("loan", 1), ("credit-card", 2), ("term-deposit", 3)):
        ProductSegmentTarget.objects.get_or_create(
            segment=segment, product_type=ProductType.objects.get(code=code), defaults={"priority": priority}
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    counts = {
        "customers": Customer.objects.count(),
        "holdings": ProductHolding.objects.count(),
        "products": ProductType.objects.count(),
    }
    _say(f"done: {counts}", started)


def compare() -> None:
    """Run the first (batch-by-batch) code once and check that the set-based code gives the same, at full size."""
    from django.utils import timezone

    from navid.offers.crossproduct import basket_counts, pair_counts
    from navid.offers.nbo import next_best_offers_for_segment
    from navid.offers.tests.reference import reference_pair_counts, reference_segment_rows
    from navid.segments.models import Segment

    segment = Segment.objects.get(name=SEGMENT_NAME)
    day = timezone.localdate()
    print(f"load average {os.getloadavg()}", flush=True)
    started = time.perf_counter()
    expected = reference_segment_rows(segment=segment, limit=100, as_of=day)
    before = time.perf_counter() - started
    started = time.perf_counter()
    got = next_best_offers_for_segment(segment=segment, user=None, limit=100, as_of=day)
    after = time.perf_counter() - started
    same = [(r.expected_value, r.customer_id, r.product.pk, r.propensity) for r in got] == [
        row[:4] for row in expected
    ]
    print(f"segment: batch code {before:.1f} s, set-based {after:.1f} s, same 100 best: {same}", flush=True)
    started = time.perf_counter()
    old_pairs = reference_pair_counts(as_of=day)
    before = time.perf_counter() - started
    started = time.perf_counter()
    new_pairs = set(pair_counts(basket_counts(as_of=day)))
    after = time.perf_counter() - started
    print(
        f"matrix counts: self-join {before:.1f} s, baskets {after:.1f} s, same {len(new_pairs)} pairs: "
        f"{old_pairs == new_pairs}; load average {os.getloadavg()}"
    )


def run(runs: int) -> None:
    """Time the three operations `runs` times and print the medians."""
    from django.db import connection

    from navid.customers.models import Customer
    from navid.offers.crossproduct import cross_product_compute
    from navid.offers.nbo import next_best_offers_for_customer, next_best_offers_for_segment
    from navid.offers.propensity import current_models, model_load
    from navid.segments.models import Segment

    print(f"{connection.vendor}; load average {os.getloadavg()}", flush=True)
    segment = Segment.objects.get(name=SEGMENT_NAME)
    for model in current_models().values():
        if model.file_path:
            model_load(model)
    sample_ids = list(
        Customer.objects.filter(pk__in=segment.static_members.values("customer_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:: SEGMENT_SIZE // 50][:50]
    )
    customers = list(Customer.objects.filter(pk__in=sample_ids).order_by("pk"))
    timings: dict[str, list[float]] = {"segment": [], "customer": [], "matrix": []}
    for n in range(runs):
        started = time.perf_counter()
        best = next_best_offers_for_segment(segment=segment, user=None, limit=100)
        timings["segment"].append(time.perf_counter() - started)
        one = []
        for customer in customers:
            started = time.perf_counter()
            next_best_offers_for_customer(customer=customer)
            one.append(time.perf_counter() - started)
        timings["customer"].append(statistics.median(one))
        started = time.perf_counter()
        pairs = cross_product_compute()
        timings["matrix"].append(time.perf_counter() - started)
        top = best[0] if best else None
        print(
            f"run {n + 1}: segment {timings['segment'][-1]:.1f} s ({len(best)} kept, best "
            f"{top.customer_id if top else '-'} {top.product.code if top else ''} {top.expected_value if top else ''}),"
            f" one customer {timings['customer'][-1] * 1000:.0f} ms (median of {len(customers)}),"
            f" matrix {timings['matrix'][-1]:.1f} s ({pairs} pairs); load average {os.getloadavg()}",
            flush=True,
        )
    print(
        "median: segment {:.1f} s, one customer {:.0f} ms, matrix {:.1f} s; peak memory of the process {:.0f} MB".format(
            statistics.median(timings["segment"]),
            statistics.median(timings["customer"]) * 1000,
            statistics.median(timings["matrix"]),
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["build", "run", "compare"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers in all (build)")
    args = parser.parse_args()
    _setup()
    if args.step == "build":
        build(args.customers)
    elif args.step == "compare":
        compare()
    else:
        run(args.runs)


if __name__ == "__main__":
    main()
