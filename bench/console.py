"""The agent console's next-call page with 1,000,000 customers: server time of each load.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_telemarketing_bench .venv/bin/python bench/console.py \
    --customers 1000000 --calls 100 --runs 3

Fills the database once (customers written in bulk, each with phone consent for marketing; one running phone
campaign whose call list holds every customer, given to 20 agents by round robin; 2 products and 3 interactions
for each customer called), then, per run, has one agent load the console's panel `--calls` times: each load takes
the next customer (the conditional UPDATE), writes the attempt and renders the screen pop (summary, products, last
interactions, consents, the script, outcome codes). The agent's outcome is recorded between loads and not timed.
Server time is the Django test client's request time, in process (no network, no browser).
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from navid.accounts.roles import Role
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import Campaign, ContactPolicy, OutboxMessage
    from navid.customers.models import Consent, Customer
    from navid.telemarketing import services
    from navid.telemarketing.models import Agent, CallAttempt, CallEntry, ScriptNode
    from navid.telemarketing.tests.factories import (
        AgentFactory,
        ScriptBranchFactory,
        ScriptNodeFactory,
        call_campaign,
    )
    from navid.telemarketing.tests.factories import code as outcome_code

    call_command("migrate", interactive=False, verbosity=0)
    roles_sync()
    policy = ContactPolicy.load()
    policy.quiet_channels = ["sms"]  # the benchmark runs at any hour: calls are not held for quiet hours
    policy.save()
    # Each step of the setup checks what is already there, so an interrupted setup resumes.
    setup_started = time.perf_counter()
    existing = Customer.objects.count()
    batch = 20_000
    for start in range(existing, args.customers, batch):
        count = min(batch, args.customers - start)
        Customer.objects.bulk_create(
            [
                Customer(
                    first_name=f"Customer{n}",
                    last_name="Bench",
                    phone=f"+98912{n:07d}",
                    national_id=f"{n:010d}",
                    language=("fa", "ru", "en")[n % 3],
                )
                for n in range(start, start + count)
            ],
            batch_size=5000,
        )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Consent._meta.db_table}
                (customer_id, channel, purpose, granted, source, recorded_at, created_at, updated_at)
                SELECT id, 'phone', 'marketing', TRUE, 'bench', %s, %s, %s FROM {Customer._meta.db_table}
                WHERE NOT EXISTS (SELECT 1 FROM {Consent._meta.db_table} c
                                  WHERE c.customer_id = {Customer._meta.db_table}.id AND c.channel = 'phone')""",
            [now, now, now],
        )
    campaign = Campaign.objects.filter(name="Console benchmark").first()
    if campaign is None:
        staff = [
            AgentFactory(user=UserFactory(username=f"bench-agent-{i}", role=Role.AGENT)) for i in range(20)
        ]
        campaign = call_campaign(customers=[], agents=staff)
        Campaign.objects.filter(pk=campaign.pk).update(name="Console benchmark")
    if not OutboxMessage.objects.filter(campaign=campaign).exists():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO campaigns_outboxmessage
                    (campaign_id, wave, customer_id, channel, language, address, idempotency_key, state,
                     claim_token, attempts, cost, provider_id, error)
                    SELECT %s, 1, id, 'phone', language, phone, %s || id, 'pending', '', 0, 0, '', ''
                    FROM {Customer._meta.db_table}""",
                [campaign.pk, f"{campaign.pk}:1:"],
            )
    if not CallEntry.objects.filter(campaign=campaign).exists():
        with connection.cursor() as cursor:
            # What autovacuum does after a bulk write; without it the planner takes the new tables for empty.
            cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "ANALYZE main")
        synced = time.perf_counter()
        services.call_list_sync(campaign_id=campaign.pk)
        print(
            f"call list of {CallEntry.objects.filter(campaign=campaign).count():,} written and dealt to 20 "
            f"agents in {time.perf_counter() - synced:.0f} s",
            flush=True,
        )
        with connection.cursor() as cursor:
            # The assignment updated every entry: what autovacuum would clean up before the agents start.
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE main")
    if not ScriptNode.objects.filter(campaign=campaign).exists():
        hello = ScriptNodeFactory(campaign=campaign, key="hello", is_start=True)
        ScriptBranchFactory(node=hello, next_node=ScriptNodeFactory(campaign=campaign, key="offer"))
    print(f"setup: {time.perf_counter() - setup_started:.0f} s", flush=True)
    agent = Agent.objects.select_related("user").get(user__username="bench-agent-0")
    services.agent_set_state(agent=agent, state="ready")
    finish = outcome_code(campaign, "not_interested")
    client = Client()
    client.force_login(agent.user)
    print(
        f"customers: {Customer.objects.count():,}, call list: {CallEntry.objects.filter(campaign=campaign).count():,}, "
        f"consents: {Consent.objects.count():,}",
        flush=True,
    )
    medians, p95s = [], []
    for run in range(1, args.runs + 1):
        timings = []
        for _ in range(args.calls):
            started = time.perf_counter()
            response = client.get("/telemarketing/console/panel/")
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200 and b'id="customer-name"' in response.content, (
                "no call was shown"
            )
            attempt = CallAttempt.objects.filter(agent=agent).exclude(state="done").get()
            services.attempt_close(actor=agent.user, attempt=attempt, outcome=finish)
        timings.sort()
        median = statistics.median(timings) * 1000
        p95 = timings[int(len(timings) * 0.95) - 1] * 1000
        medians.append(median)
        p95s.append(p95)
        print(
            f"run {run}: {args.calls} next-call loads, median {median:.1f} ms, p95 {p95:.1f} ms, "
            f"max {timings[-1] * 1000:.1f} ms",
            flush=True,
        )
    print(
        f"median of {args.runs} runs: median {statistics.median(medians):.1f} ms, p95 {statistics.median(p95s):.1f} ms"
        f" ({connection.vendor}, load average {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
