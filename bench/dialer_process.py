"""The telemarketing dialer process end to end: database, pacing, AsteriskDialer and the AMI simulator.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_telemarketing_dialer .venv/bin/python \
    bench/dialer_process.py --agents 50 --seconds 60 --runs 3

One predictive campaign, `--agents` agents who are ready, a call list of `--customers` customers, and the AMI
simulator with a realistic mix (30 % answered after 1-3 s of ringing and 2-5 s of talk, 20 % busy, 30 % no answer,
the rest failed). The process places calls (`DialerProcess`, the same code as `navid dialer`); each simulated agent
records the outcome of a talk 1 s after it ends (wrap-up), which makes the agent free again. Reported per run: the
pacing decisions (reading the campaign's free agents and calls from the database, then `calls_to_place`) with
p50 / p95 / max, calls placed per minute, the peak of calls in progress at once, and the abandon rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tick", type=float, default=0.2)
    parser.add_argument("--lines", type=int, default=50, help="simultaneous calls the trunk carries")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from asgiref.sync import sync_to_async
    from django.core.management import call_command
    from django.db import connection

    from navid.accounts.roles import Role
    from navid.accounts.services import roles_sync
    from navid.accounts.tests.factories import UserFactory
    from navid.campaigns.models import Campaign, ContactPolicy
    from navid.campaigns.tests.sending import customers_bulk
    from navid.channels.amisim import AmiSimulator, mix_rule
    from navid.channels.dialer import AsteriskDialer
    from navid.customers.models import Consent
    from navid.telemarketing import services
    from navid.telemarketing.dialing import DialerProcess
    from navid.telemarketing.models import Agent, AttemptState, CallAttempt, CallEntry
    from navid.telemarketing.tests.factories import AgentFactory, call_campaign
    from navid.telemarketing.tests.factories import code as outcome_code

    call_command("migrate", interactive=False, verbosity=0)
    roles_sync()
    policy = ContactPolicy.load()
    policy.quiet_channels = ["sms"]  # the benchmark runs at any hour
    policy.save()
    campaign = Campaign.objects.filter(name="Dialer benchmark").first()
    if campaign is None:
        customers = customers_bulk(count=args.customers, start=7_000_000)
        Consent.objects.bulk_create(
            (
                Consent(customer=c, channel="phone", purpose="marketing", granted=True, source="bench")
                for c in customers
            ),
            batch_size=5000,
        )
        staff = [
            AgentFactory(
                user=UserFactory(username=f"dialer-agent-{i}", role=Role.AGENT), extension=f"PJSIP/{2000 + i}"
            )
            for i in range(args.agents)
        ]
        campaign = call_campaign(customers=customers, agents=staff, mode="predictive", trunk="PJSIP/operator")
        Campaign.objects.filter(pk=campaign.pk).update(name="Dialer benchmark")
    finish = outcome_code(campaign, "not_interested")
    agents = list(Agent.objects.filter(campaigns=campaign).select_related("user"))
    print(
        f"{connection.vendor}: {len(agents)} agents, call list {CallEntry.objects.filter(campaign=campaign).count():,}"
    )

    def wrap_up_due() -> int:
        """Agents record the outcome of talks that ended more than a second ago."""
        done = 0
        for attempt in CallAttempt.objects.filter(
            state=AttemptState.WRAP_UP, campaign=campaign
        ).select_related("agent__user"):
            if attempt.ended_at and (time.time() - attempt.ended_at.timestamp()) >= 1.0:
                services.attempt_close(
                    actor=attempt.agent.user if attempt.agent else None, attempt=attempt, outcome=finish
                )
                done += 1
        return done

    results = []
    for run in range(1, args.runs + 1):
        for agent in agents:
            services.agent_set_state(agent=agent, state="ready")
        first_attempt = CallAttempt.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        simulator = AmiSimulator(rule=mix_rule(seed=run)).start()
        dialer = AsteriskDialer.from_url(
            f"ami://navid:secret@127.0.0.1:{simulator.port}", context="navid-dialer"
        )
        process = DialerProcess(dialer=dialer, tick_seconds=args.tick, lines=args.lines)
        peak = 0

        async def drive(process: DialerProcess) -> None:
            nonlocal peak
            stop = asyncio.Event()
            task = asyncio.create_task(process.run(stop))
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline:
                peak = max(peak, len(process.calls))
                await sync_to_async(wrap_up_due)()
                await asyncio.sleep(0.1)
            stop.set()
            await task

        started = time.monotonic()
        asyncio.run(drive(process))
        elapsed = time.monotonic() - started
        simulator.stop()
        attempts = CallAttempt.objects.filter(pk__gt=first_attempt, campaign=campaign)
        placed = len(simulator.originates)
        answered = attempts.filter(dial_result="answered").count()
        abandoned = attempts.filter(dial_result="abandoned").count()
        decisions = [s * 1000 for s in process.timing.seconds]
        row = {
            "decisions": len(decisions),
            "p50": percentile(decisions, 0.5),
            "p95": percentile(decisions, 0.95),
            "max": max(decisions) if decisions else 0.0,
            "per_minute": placed * 60 / elapsed,
            "peak": peak,
            "abandon": 100 * abandoned / (answered + abandoned) if answered + abandoned else 0.0,
        }
        results.append(row)
        print(
            f"run {run}: {row['decisions']} decisions p50 {row['p50']:.1f} ms p95 {row['p95']:.1f} ms "
            f"max {row['max']:.1f} ms; {placed} calls placed ({row['per_minute']:.0f}/min), peak {peak} in progress, "
            f"abandoned {abandoned} of {answered + abandoned} answered ({row['abandon']:.1f} %)",
            flush=True,
        )
        # what is still open goes back: the next run starts clean
        for attempt in CallAttempt.objects.filter(campaign=campaign).exclude(state=AttemptState.DONE):
            services.attempt_close(actor=None, attempt=attempt, outcome=finish)
        CallEntry.objects.filter(campaign=campaign, state="active").update(state="queued", claim_token="")
    print(
        "median of runs: "
        + ", ".join(f"{key} {statistics.median(r[key] for r in results):.1f}" for key in results[0])
        + f"; load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
