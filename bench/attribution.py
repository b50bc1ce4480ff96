"""Attribution benchmark: `attribution_recompute` over a campaign whose audience is every customer of the database.

    DATABASE_URL=... .venv/bin/python bench/generate_customers.py --customers 200000 --months 1
    DATABASE_URL=... .venv/bin/python bench/attribution.py --runs 3

Set-up (once, kept between runs): a campaign "bench: attribution" whose conversion product is the product most
customers hold; one decision row per customer (id %% 10 = 0 in control, the rest in treatment) and an inbound
"interested" interaction linked to the campaign for every customer with id % 10 in (1, 2, 3), both written with
INSERT ... SELECT. The window is the 60 days before the newest holding, so the holdings opened in them convert.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

NAME = "bench: attribution"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import Count, Max
    from django.utils import timezone

    from navid.campaigns.attribution import attribution_counts, attribution_recompute
    from navid.campaigns.models import Campaign, Decision
    from navid.customers.models import Customer, ProductHolding
    from navid.interactions.models import Interaction
    from navid.offers.models import Offer

    campaign = Campaign.objects.filter(name=NAME).first()
    if campaign is None:
        product_id = (
            ProductHolding.objects.values("product_type_id")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .values_list("product_type_id", flat=True)[0]
        )
        newest = ProductHolding.objects.aggregate(last=Max("opened_on"))["last"]
        start = timezone.make_aware(datetime.combine(newest - timedelta(days=60), clock(10)))
        owner, _ = get_user_model().objects.get_or_create(username="bench-attribution")
        offer = Offer.objects.create(name=NAME, product_type_id=product_id)
        with transaction.atomic():
            campaign = Campaign.objects.create(
                name=NAME,
                goal="cross_sell",
                owner=owner,
                offer=offer,
                starts_at=start,
                response_window_days=60,
            )
            qn = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {Decision._meta.db_table} (campaign_id, customer_id, {qn('group')}, rule, channel) "
                    f"SELECT %s, id, CASE WHEN id %% 10 = 0 THEN 'control' ELSE 'treatment' END, '', 'email' "
                    f"FROM {Customer._meta.db_table}",
                    [campaign.pk],
                )
                cursor.execute(
                    f"INSERT INTO {Interaction._meta.db_table} (customer_id, kind, channel, direction, occurred_at, "
                    "outcome, cost, campaign_id, notes, request_open, created_at, source) "
                    "SELECT id, 'web_visit', 'web', 'inbound', %s, 'interested', 0, %s, '', %s, %s, 'bench' "
                    f"FROM {Customer._meta.db_table} WHERE id %% 10 IN (1, 2, 3)",
                    [
                        connection.ops.adapt_datetimefield_value(start + timedelta(days=3)),
                        campaign.pk,
                        False,
                        connection.ops.adapt_datetimefield_value(timezone.now()),
                    ],
                )
    decisions = Decision.objects.filter(campaign=campaign).count()
    print(f"{connection.vendor}: campaign {campaign.pk}, {decisions:,} decision rows")
    times = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        conversions = attribution_recompute(campaign_id=campaign.pk)
        times.append(time.perf_counter() - started)
        print(f"run {run}: {times[-1]:.2f} s, {conversions:,} conversions")
    print(attribution_counts(campaign_id=campaign.pk))
    print(
        f"median {statistics.median(times):.2f} s ({decisions / statistics.median(times):,.0f} decision rows/s)"
    )


if __name__ == "__main__":
    main()
