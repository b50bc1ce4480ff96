"""Time the results of one large campaign (decision rows and outbox messages written in bulk, then counted).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_workflow_bench .venv/bin/python bench/campaign_results.py \
    --audience 1000000
Use a scratch database: the script migrates it and adds one campaign with its rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing


def main() -> None:
    """Write the rows of a campaign of `--audience` customers, then time `campaign_results` three times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audience", type=int, required=True)
    parser.add_argument("--batch", type=int, default=20000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from navid.campaigns.models import Campaign, Decision, Group, OutboxMessage, OutboxState
    from navid.campaigns.results import campaign_results
    from navid.customers.models import ProductType
    from navid.offers.models import Offer

    call_command("migrate", interactive=False, verbosity=0)
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    product, _ = ProductType.objects.get_or_create(code="bench-deposit", defaults={"name_en": "Deposit"})
    offer = Offer.objects.create(name="Bench offer", product_type=product, value_to_bank=Decimal("1000"))
    start = timezone.now() - dt.timedelta(days=10)
    campaign = Campaign.objects.create(
        name=f"Bench {args.audience}",
        goal="cross_sell",
        owner=owner,
        offer=offer,
        starts_at=start,
        ends_at=start + dt.timedelta(days=30),
    )
    # Decision and outbox rows name customers without a foreign-key constraint, so the audience needs no
    # customer rows: customers 1..N, every tenth in control, every 50th excluded, treatment messaged.
    written = time.perf_counter()
    for first in range(1, args.audience + 1, args.batch):
        ids = range(first, min(first + args.batch, args.audience + 1))
        decisions, messages = [], []
        for pk in ids:
            if pk % 50 == 0:
                decisions.append(
                    Decision(campaign=campaign, customer_id=pk, group=Group.EXCLUDED, rule="consent")
                )
            elif pk % 10 == 0:
                decisions.append(Decision(campaign=campaign, customer_id=pk, group=Group.CONTROL))
            else:
                decisions.append(
                    Decision(campaign=campaign, customer_id=pk, group=Group.TREATMENT, channel="sms")
                )
                messages.append(
                    OutboxMessage(
                        campaign=campaign,
                        customer_id=pk,
                        channel="sms",
                        language="fa",
                        address=f"+98912{pk:07d}",
                        idempotency_key=f"{campaign.pk}:1:{pk}:sms",
                        state=OutboxState.DELIVERED if pk % 3 else OutboxState.SENT,
                        cost=Decimal("300"),
                        opened_at=start if pk % 7 == 0 else None,
                    )
                )
        with transaction.atomic():
            Decision.objects.bulk_create(decisions)
            OutboxMessage.objects.bulk_create(messages)
    written = time.perf_counter() - written
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        results = campaign_results(campaign=campaign)
        runs.append(time.perf_counter() - started)
    print(
        f"{connection.vendor}: audience {results.targeted:,} (treatment {results.treatment:,}, control "
        f"{results.control:,}, excluded {results.excluded_total:,}), notified {results.notified:,}; rows written in "
        f"{written:.1f} s; results in {statistics.median(runs):.2f} s (median of 3: "
        + ", ".join(f"{r:.2f}" for r in runs)
        + ")"
    )


if __name__ == "__main__":
    main()
