"""Send an email campaign with several worker processes into an SMTP server (aiosmtpd) on 127.0.0.1.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_bench .venv/bin/python bench/send_email.py \
    --messages 20000 --workers 4 [--kill]

Writes a running campaign and its outbox directly (as materialisation would), starts an aiosmtpd server in this
process and `manage.py send_outbox --wait` workers as separate processes, and prints messages per second, the
largest worker's peak resident memory, and how many times the server received each Message-ID. With --kill, one
worker is killed with SIGKILL after a third of the messages and another is started in its place.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--kill", action="store_true", help="kill -9 one worker after a third of the messages"
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import OutboxMessage, OutboxState
    from navid.campaigns.progress import campaign_progress
    from navid.campaigns.tests.sending import customers_bulk, outbox_write, running_campaign
    from navid.channels.tests.servers import SmtpServer
    from navid.customers.models import Customer
    from navid.interactions.models import Interaction

    call_command("migrate", interactive=False, verbosity=0)
    UserFactory.reset_sequence(int(time.time()))  # a fresh owner on every run
    campaign = running_campaign()
    start = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    outbox_write(campaign=campaign, customers=customers_bulk(count=args.messages, start=start))
    server = SmtpServer().start()
    env = os.environ | {
        "NAVID_SMTP_HOST": server.host,
        "NAVID_SMTP_PORT": str(server.port),
        "NAVID_SEND_BATCH": str(args.batch),
        "NAVID_SEND_LEASE_SECONDS": "5" if args.kill else "120",
    }
    command = [
        sys.executable,
        "manage.py",
        "send_outbox",
        "--campaign",
        str(campaign.id),
        "--channel",
        "email",
    ]
    command.append("--wait")
    print(
        f"{connection.vendor}: {args.messages:,} messages, {args.workers} worker processes, batch {args.batch}"
    )

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    workers = [worker() for _ in range(args.workers)]
    while not server.messages and all(p.poll() is None for p in workers):
        time.sleep(0.01)
    first = time.perf_counter()  # worker processes are up (Django start-up is not sending)
    if args.kill:
        while len(server.messages) < args.messages // 3:
            time.sleep(0.02)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        print(f"killed worker {workers[0].pid} after {len(server.messages):,} messages")
        workers = [*workers[1:], worker()]
    for process in workers:
        process.wait()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    received = server.recorder.message_ids()
    server.stop()
    progress = campaign_progress(campaign_id=campaign.id)
    print(f"sent          {progress['states']['sent']:>10,}  in {seconds:,.1f} s")
    print(f"rate          {args.messages / seconds:>10,.0f} messages/s, start-up included")
    print(
        f"rate          {args.messages / (seconds - (first - started)):>10,.0f} messages/s from the first message"
    )
    print(f"peak RSS      {peak_kb / 1024:>10,.0f} MB (largest worker process)")
    print(f"received      {sum(received.values()):>10,}  distinct Message-IDs {len(received):,}")
    print(f"duplicates    {sum(n - 1 for n in received.values() if n > 1):>10,}")
    missing = args.messages - len(received)
    print(f"missing       {missing:>10,}")
    # Keep the benchmark database small between runs.
    Interaction.objects.filter(campaign_id=campaign.id).delete()
    OutboxMessage.objects.filter(campaign=campaign, state__in=list(OutboxState)).delete()
    Customer.objects.filter(id__gte=start).delete()


if __name__ == "__main__":
    main()
