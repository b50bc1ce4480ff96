"""`navid manage send_outbox --campaign ID --channel email`: send a running campaign's channel without Celery.

The same send loop as the Celery task, in the foreground: for a laptop, for an operator who wants to watch, and
for the tests and benchmarks that start several worker processes and kill one of them.
"""

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from navid.campaigns.execution import campaign_complete_if_done, channel_send
from navid.campaigns.models import Campaign, CampaignChannel


class Command(BaseCommand):
    help = "Send the due messages of one channel of a running campaign, then print what was done."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", type=int, required=True, help="campaign id")
        parser.add_argument("--channel", required=True, choices=[c.value for c in CampaignChannel])
        parser.add_argument(
            "--seconds", type=float, default=None, help="stop after this long (default: when done)"
        )
        parser.add_argument("--batch", type=int, default=None, help="messages per batch (default: settings)")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="when nothing is due, wait for messages still held by other workers or waiting for their time",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not Campaign.objects.filter(pk=options["campaign"]).exists():
            raise CommandError(f"No campaign with id {options['campaign']}.")
        while True:
            report = channel_send(
                campaign_id=options["campaign"],
                channel=options["channel"],
                max_seconds=options["seconds"],
                batch_size=options["batch"],
            )
            if not (options["wait"] and report.reason == "done" and report.next_due_in is not None):
                break
            time.sleep(min(report.next_due_in, 5.0) + 0.1)
        completed = campaign_complete_if_done(campaign_id=options["campaign"])
        self.stdout.write(
            json.dumps(
                {
                    "batches": report.batches,
                    "counts": report.counts,
                    "reason": report.reason,
                    "completed": completed,
                }
            )
        )
