"""The `navid` command: demo, web, worker, dialer, import (customers, interactions), manage."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _worker_argv(concurrency: int | None = None) -> list[str]:
    argv = [sys.executable, "-m", "celery", "-A", "navid", "worker", "--loglevel", "INFO"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    return argv


def _serve(host: str, port: int, threads: int) -> None:
    from waitress import serve

    from navid.wsgi import application

    serve(application, host=host, port=port, threads=threads, ident="navid")


def cmd_demo(args: argparse.Namespace) -> int:
    """Migrate, create the demo users and data, then run the web server and a worker together."""
    _setup()
    from django.conf import settings

    from navid.accounts.demo import demo_users_ensure
    from navid.campaigns.demo import campaigns_demo_seed
    from navid.channels.mailcatcher import mail_catcher_start
    from navid.customers.demo import demo_generate, reference_lists_ensure
    from navid.customers.models import Customer
    from navid.interactions.demo import complaint_categories_ensure, interactions_generate
    from navid.interactions.models import Interaction
    from navid.loyalty.demo import loyalty_demo_seed
    from navid.loyalty.models import PointsEntry
    from navid.offers.demo import offers_demo_seed
    from navid.offers.models import Offer
    from navid.sales.demo import sales_demo_seed
    from navid.segments.models import CustomerValue
    from navid.segments.value_services import values_recompute
    from navid.surveys.demo import surveys_demo_seed
    from navid.telemarketing.demo import DEMO_CALL_CAMPAIGN, telemarketing_demo_seed

    print("Preparing the database ...", flush=True)
    _migrate()
    reference_lists_ensure()
    complaint_categories_ensure()
    users = demo_users_ensure()
    existing = Customer.objects.count()
    first_new = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    generated = False
    if existing < args.customers:
        print(f"Generating {args.customers - existing} customers and prospects ...", flush=True)
        result = demo_generate(customers=args.customers - existing, seed=args.seed)
        print(f"  {result.customers} customers, {result.transactions} transactions in {result.seconds:.1f} s")
        generated = result.customers > 0
    _assign_portfolio()
    # Interactions for the customers just generated, or for every customer of a database that has none yet.
    if generated or not Interaction.objects.exists():
        start = first_new if Interaction.objects.exists() else None
        print("Generating interactions ...", flush=True)
        made = interactions_generate(seed=args.seed, min_customer_id=start)
        print(f"  {made.interactions} interactions for {made.customers} customers in {made.seconds:.1f} s")
    if generated or not CustomerValue.objects.exists():
        # What the nightly job would compute, so that scores, value and lifecycle show from the first login.
        print("Computing ranking, value and lifecycle ...", flush=True)
        report = values_recompute()
        print(f"  {report.customers} customers in {report.seconds:.1f} s")
    if generated or not Offer.objects.exists():
        print("Offers, cross-product matrix and propensity models ...", flush=True)
        seeded = offers_demo_seed()
        print(
            f"  {seeded.offers} offers, {seeded.pairs} pairs, {seeded.models} models in {seeded.seconds:.1f} s"
        )
    if campaigns_demo_seed() is not None:
        print("A demo email campaign waits for the director's approval (Campaigns).", flush=True)
    if generated or not PointsEntry.objects.exists():
        print("Loyalty rules, tiers and points ...", flush=True)
        loyalty = loyalty_demo_seed()
        print(
            f"  {loyalty.entries} entries, {loyalty.customers_in_tiers} customers in tiers in {loyalty.seconds:.1f} s"
        )
    sold = sales_demo_seed()
    if sold.kiosk_key:
        print(
            f"  {sold.leads} sales leads, {sold.applications} applications; "
            f"the branch kiosk's device key (/sales/kiosk/setup/): {sold.kiosk_key}",
            flush=True,
        )
    surveyed = surveys_demo_seed()
    if surveyed is not None:
        print(f"A satisfaction survey with {surveyed.responses} answers (Surveys).", flush=True)
    if telemarketing_demo_seed() is not None:
        print(
            f"A demo call campaign runs: log in as agent, open the Console, press Ready ({DEMO_CALL_CAMPAIGN})."
        )
    url = f"http://{args.host}:{args.port}"
    print(f"\nDemo users (password for all: {users[0].password}):")
    for user in users:
        print(f"  {user.username:<10} {user.role.value}")
    # Campaign email goes to the demo's own SMTP server and is kept under var/demo-mail/; the worker also runs
    # the schedule (campaigns whose start time comes, attribution, nightly recomputes).
    mail_port = _free_port()
    catcher = mail_catcher_start(folder=settings.VAR_DIR / "demo-mail", port=mail_port)
    print(f"Campaign email is delivered to {settings.VAR_DIR / 'demo-mail'} (SMTP 127.0.0.1:{mail_port}).")
    worker_env = {
        **os.environ,
        "NAVID_SMTP_HOST": "127.0.0.1",
        "NAVID_SMTP_PORT": str(mail_port),
        # Links in the demo's messages (unsubscribe, tracked clicks) lead to this server.
        "NAVID_PUBLIC_URL": os.environ.get("NAVID_PUBLIC_URL", url),
    }
    print(f"\nNavid is running at {url}/  (API docs: {url}/api/v1/docs). Press Ctrl+C to stop.\n", flush=True)
    worker = subprocess.Popen([*_worker_argv(concurrency=1), "--beat"], env=worker_env)  # noqa: S603
    try:
        _serve(args.host, args.port, threads=8)
    except KeyboardInterrupt:
        pass
    finally:
        catcher.stop()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
    return 0


def cmd_inbound_mail(args: argparse.Namespace) -> int:
    """Receive customers' email replies over SMTP and record each as a response to the message it answers."""
    _setup()
    from django.conf import settings

    from navid.campaigns.tracking import email_reply_record
    from navid.channels.inbound_mail import inbound_mail_start

    host = args.host or settings.NAVID_INBOUND_SMTP_HOST
    port = args.port or settings.NAVID_INBOUND_SMTP_PORT
    server = inbound_mail_start(deliver=lambda mail: email_reply_record(mail=mail), host=host, port=port)
    print(f"Receiving replies on SMTP {host}:{port}. Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def cmd_sms_receiver(args: argparse.Namespace) -> int:
    """Stay bound to the SMSC and apply delivery receipts and customers' replies as they arrive."""
    _setup()
    from navid.campaigns.receiver import sms_receiver_run

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("Receiving SMS receipts and replies. Press Ctrl+C to stop.", flush=True)
    try:
        applied = sms_receiver_run(stop=stop)
    except KeyboardInterrupt:
        return 0
    print(f"{applied} receipts and replies applied.")
    return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _assign_portfolio() -> None:
    """Give the demo relationship manager the customers of the first branch that have none."""
    from django.contrib.auth import get_user_model

    from navid.customers.models import Customer

    rm = get_user_model().objects.filter(username="rm").first()
    first = (
        Customer.objects.exclude(branch=None)
        .order_by("branch_id")
        .values_list("branch_id", flat=True)
        .first()
    )
    if rm is not None and first is not None:
        Customer.objects.filter(branch_id=first, relationship_manager=None).update(relationship_manager=rm)


def cmd_web(args: argparse.Namespace) -> int:
    _setup()
    print(f"Navid web at http://{args.host}:{args.port}/", flush=True)
    _serve(args.host, args.port, threads=args.threads)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    os.execv(sys.executable, _worker_argv(args.concurrency))  # noqa: S606
    return 0


def _file_and_user(args: argparse.Namespace) -> tuple[Path, Any] | int:
    """The file to import and the user to record it under (None without --user), or the exit code 2."""
    from django.contrib.auth import get_user_model

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    actor = None
    if args.user:
        actor = get_user_model().objects.filter(username=args.user).first()
        if actor is None:
            print(f"error: no user named {args.user!r}", file=sys.stderr)
            return 2
    return path, actor


def cmd_import(args: argparse.Namespace) -> int:
    """Import a customer file in this process, printing progress and every rejected row."""
    _setup()

    from navid.customers.services import import_job_create, import_job_run

    found = _file_and_user(args)
    if isinstance(found, int):
        return found
    path, actor = found
    try:
        mapping = json.loads(args.mapping) if args.mapping else None
    except json.JSONDecodeError as exc:
        print(f"error: --mapping is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if mapping is not None and not (
        isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())
    ):
        print('error: --mapping must be a JSON object {"column in file": "field"}', file=sys.stderr)
        return 2
    with path.open("rb") as handle:
        job = import_job_create(
            actor=actor,
            file_name=path.name,
            content=handle,
            mapping=mapping,
            dry_run=args.dry_run,
            skip_invalid=args.skip_invalid,
        )
    started = time.perf_counter()
    job = import_job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    for error in job.errors:
        print(f"row {error['row']}, column {error['column']}: {error['reason']}")
    if job.rejected_count > len(job.errors):
        print(f"... and more: {job.rejected_count} rows rejected in all")
    rate = job.rows_total / elapsed if elapsed else 0
    print(f"{job.message} ({job.rows_total} rows in {elapsed:.1f} s, {rate:,.0f} rows/s; job {job.pk})")
    return 0 if job.state == job.State.SUCCEEDED else 1


def cmd_import_interactions(args: argparse.Namespace) -> int:
    """Ingest a feed of interactions in this process, printing every rejected line."""
    _setup()

    from navid.core.errors import ValidationFailed
    from navid.interactions.services import interaction_ingest_job_create, interaction_ingest_job_run

    found = _file_and_user(args)
    if isinstance(found, int):
        return found
    path, actor = found
    with path.open("rb") as handle:
        try:
            job = interaction_ingest_job_create(
                actor=actor, file_name=path.name, content=handle, file_format=args.format or ""
            )
        except ValidationFailed as exc:
            for reasons in exc.errors.values():
                for reason in reasons:
                    print(f"error: {reason}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    job = interaction_ingest_job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    for error in job.errors:
        print(f"line {error['line']}, field {error['field']}: {error['reason']}")
    rate = job.rows_total / elapsed if elapsed else 0
    print(f"{job.message} ({job.rows_total} lines in {elapsed:.1f} s, {rate:,.0f} lines/s; job {job.pk})")
    return 0 if job.state == job.State.SUCCEEDED else 1


def cmd_dialer(args: argparse.Namespace) -> int:
    """The telemarketing dialer process of this site (docs/telemarketing.md)."""
    _setup()
    from django.core.management import call_command

    call_command("dialer", tick=args.tick)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["navid manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="navid", description="Navid, a campaign-management CRM for banks.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="set up demo data and run the web app and a worker")
    demo.add_argument("--customers", type=int, default=5000)
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)

    web = sub.add_parser("web", help="run the web server")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--threads", type=int, default=8)
    web.set_defaults(func=cmd_web)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int, default=None)
    worker.set_defaults(func=cmd_worker)

    replies = sub.add_parser("inbound-mail", help="receive customers' email replies over SMTP")
    replies.add_argument("--port", type=int, default=None, help="default: NAVID_INBOUND_SMTP_PORT")
    replies.add_argument("--host", default=None, help="default: NAVID_INBOUND_SMTP_HOST")
    replies.set_defaults(func=cmd_inbound_mail)

    receiver = sub.add_parser("sms-receiver", help="stay bound to the SMSC for delivery receipts and replies")
    receiver.set_defaults(func=cmd_sms_receiver)
    dialer = sub.add_parser("dialer", help="run the telemarketing dialer process (NAVID_AMI_URL)")
    dialer.add_argument("--tick", type=float, default=0.5, help="seconds between two pacing rounds")
    dialer.set_defaults(func=cmd_dialer)

    imp = sub.add_parser("import", help="import data from a file")
    imp_sub = imp.add_subparsers(dest="what", required=True)
    customers = imp_sub.add_parser("customers", help="import customers from a CSV or XLSX file")
    customers.add_argument("file")
    customers.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    customers.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows, report the rest"
    )
    customers.add_argument("--mapping", help='JSON {"column in file": "field"}; default: by column names')
    customers.add_argument("--user", help="username recorded as the importer in the audit log")
    customers.set_defaults(func=cmd_import)
    feed = imp_sub.add_parser("interactions", help="ingest a feed of interactions (CSV or JSON lines)")
    feed.add_argument("file")
    feed.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file name or its content")
    feed.add_argument(
        "--user", help="username recorded as the sender; only the customers this user sees are accepted"
    )
    feed.set_defaults(func=cmd_import_interactions)

    manage = sub.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
