"""SMS throughput against the SMPP 3.4 test server on 127.0.0.1: submit_sm per second with a window.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_bench .venv/bin/python bench/send_sms.py \
    --submits 20000 --window 32 --messages 10000 --workers 2

Part 1 (adapter): the SMPP adapter alone sends `--submits` single-part messages, `--window` PDUs in flight, and
then the same with a window of 1, to show what the window buys. Part 2 (end to end): a running SMS campaign of
`--messages` messages is sent by `manage.py send_outbox` worker processes (claim, consent check, render, commit
point, record, interactions); prints messages per second and the largest worker's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submits", type=int, default=20000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import CampaignChannel, OutboxMessage
    from navid.campaigns.progress import campaign_progress
    from navid.campaigns.tests.sending import customers_bulk, outbox_write, running_campaign
    from navid.channels.base import Outgoing
    from navid.channels.sms import SmppAdapter
    from navid.channels.tests.servers import SmppServer
    from navid.customers.models import Customer
    from navid.interactions.models import Interaction

    server = SmppServer().start()
    messages = [
        Outgoing(
            key=f"bench:{n}",
            to=f"+98912{n:07d}",
            language="en",
            text="Your new deposit awaits",
            sender="Navid",
        )
        for n in range(args.submits)
    ]
    for window in (args.window, 1):
        count = args.submits if window > 1 else max(1, args.submits // 10)
        adapter = SmppAdapter(
            host=server.host, port=server.port, system_id="navid", password="secret", window=window
        )
        started = time.perf_counter()
        results = adapter.send_many(messages[:count])
        seconds = time.perf_counter() - started
        adapter.close()
        assert all(r.ok for r in results)
        print(
            f"adapter, window {window:>3}: {count:>8,} submit_sm in {seconds:6.2f} s = {count / seconds:>8,.0f}/s"
        )

    call_command("migrate", interactive=False, verbosity=0)
    UserFactory.reset_sequence(int(time.time()))
    campaign = running_campaign(channel=CampaignChannel.SMS)
    start = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    outbox_write(
        campaign=campaign,
        customers=customers_bulk(count=args.messages, start=start),
        channel=CampaignChannel.SMS,
    )
    submitted_before = len(server.submitted)
    env = os.environ | {
        "NAVID_SMS_GATEWAY": "smpp",
        "NAVID_SMPP_HOST": server.host,
        "NAVID_SMPP_PORT": str(server.port),
        "NAVID_SMPP_SYSTEM_ID": "navid",
        "NAVID_SMPP_PASSWORD": "secret",
        "NAVID_SMPP_WINDOW": str(args.window),
        "NAVID_SEND_BATCH": "500",
    }
    command = [sys.executable, "manage.py", "send_outbox", "--campaign", str(campaign.id), "--channel", "sms"]
    started = time.perf_counter()
    workers = [
        subprocess.Popen([*command, "--wait"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for _ in range(args.workers)
    ]
    while len(server.submitted) == submitted_before and all(p.poll() is None for p in workers):
        time.sleep(0.01)
    first = time.perf_counter()  # worker processes are up (Django start-up is not sending)
    for process in workers:
        process.wait()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sent = campaign_progress(campaign_id=campaign.id)["states"]["sent"]
    submitted = len(server.submitted) - submitted_before
    server.stop()
    print(
        f"{connection.vendor}, end to end: {sent:,} messages sent by {args.workers} workers in {seconds:,.1f} s"
    )
    print(f"rate          {sent / seconds:>10,.0f} messages/s, start-up included ({submitted:,} submit_sm)")
    print(f"rate          {sent / (seconds - (first - started)):>10,.0f} messages/s from the first message")
    print(f"peak RSS      {peak_kb / 1024:>10,.0f} MB (largest worker process)")
    Interaction.objects.filter(campaign_id=campaign.id).delete()
    OutboxMessage.objects.filter(campaign=campaign).delete()
    Customer.objects.filter(id__gte=start).delete()


if __name__ == "__main__":
    main()
