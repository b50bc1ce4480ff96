"""From a snapshot of every customer to decision rows and outbox, with the contact policy and a 10 % control group.

Fill a dedicated database first (bench/generate_customers.py), then:

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_targeting_bench .venv/bin/python bench/materialise.py --runs 3

Set-up (not timed, done once and kept): one snapshot holding every live customer, time zones for the Russian
regions, 1 % of the email addresses suppressed, and an earlier campaign with messages to 20 % of the customers
(sent in the last 20 days or still waiting), so that the frequency and gap rules have work to do. Each run
creates a campaign (email first, SMS as fallback, 10 % control), times `campaign_materialise`, then times one
hand-written SQL statement that makes the same decisions into a scratch table, checks that both agree group by
group and rule by rule, and removes the run's rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

ZONES = {
    10800: "Europe/Moscow",
    14400: "Europe/Samara",
    18000: "Asia/Yekaterinburg",
    21600: "Asia/Omsk",
    25200: "Asia/Novosibirsk",
    28800: "Asia/Irkutsk",
    32400: "Asia/Yakutsk",
    36000: "Asia/Vladivostok",
}
SEED = 20261122


def _setup() -> tuple[Any, Any]:
    """The bench's snapshot and earlier campaign, made once."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from navid.accounts.models import Region
    from navid.campaigns.models import Campaign, ContactPolicy, Goal, OutboxMessage, Suppression
    from navid.customers.demo import REGIONS
    from navid.customers.models import Customer
    from navid.segments.models import Segment, Snapshot, SnapshotMember

    owner, _ = get_user_model().objects.get_or_create(username="bench-targeting")
    snapshot = Snapshot.objects.filter(
        segment__name="bench: every customer", state=Snapshot.State.DONE
    ).first()
    if snapshot is not None:
        return owner, snapshot
    print("set-up: snapshot, time zones, suppressions, an earlier campaign ...", flush=True)
    started = time.perf_counter()
    q = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        ContactPolicy.objects.filter(pk=1).delete()  # the documented defaults
        for spec in REGIONS:
            if spec.country == "ru":
                Region.objects.filter(code=spec.code).update(time_zone=ZONES[spec.utc_offset])
        segment = Segment.objects.create(name="bench: every customer", kind=Segment.Kind.STATIC)
        snapshot = Snapshot.objects.create(segment=segment, definition={}, state=Snapshot.State.DONE)
        cursor.execute(
            f"INSERT INTO {q(SnapshotMember._meta.db_table)} (snapshot_id, customer_id)"
            f" SELECT %s, id FROM {q(Customer._meta.db_table)} WHERE deleted_at IS NULL",
            [snapshot.pk],
        )
        Snapshot.objects.filter(pk=snapshot.pk).update(member_count=cursor.rowcount, taken_at=timezone.now())
        cursor.execute(
            f"INSERT INTO {q(Suppression._meta.db_table)} (channel, address, reason, detail, created_at)"
            f" SELECT 'email', e.email, 'hard_bounce', '', %s FROM (SELECT DISTINCT email FROM {q(Customer._meta.db_table)}"
            " WHERE email <> '' AND id %% 100 = 7) e",
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        earlier = Campaign.objects.create(name="bench: earlier campaign", goal=Goal.CROSS_SELL, owner=owner)
        now = timezone.now()
        # 20 % of the customers: a message sent 1 to 20 days ago (SMS or email), or still waiting to go out.
        cursor.execute(
            f"INSERT INTO {q(OutboxMessage._meta.db_table)} (campaign_id, wave, customer_id, channel, language,"
            " address, idempotency_key, state, send_after, claim_token, lease_until, attempts, sent_at,"
            " delivered_at, opened_at, clicked_at, provider_id, cost, error)"
            " SELECT %s, 1, id, CASE WHEN id %% 2 = 0 THEN 'sms' ELSE 'email' END, language, '',"
            " %s || CAST(id AS TEXT), CASE WHEN id %% 10 = 0 THEN 'pending' ELSE 'delivered' END, NULL, '', NULL, 0,"
            " CASE WHEN id %% 10 = 0 THEN NULL ELSE %s END, NULL, NULL, NULL, '', 0, ''"
            f" FROM {q(Customer._meta.db_table)} WHERE id %% 5 = 0",
            [
                earlier.pk,
                f"bench-earlier:{earlier.pk}:",
                connection.ops.adapt_datetimefield_value(now - dt.timedelta(days=1)),
            ],
        )
    print(f"set-up done in {time.perf_counter() - started:.1f} s", flush=True)
    return owner, snapshot


def _campaign(owner: Any, snapshot: Any, run: int) -> Any:
    from navid.campaigns.models import Campaign, ChannelPlan, Goal

    campaign = Campaign.objects.create(
        name=f"bench: run {run}",
        goal=Goal.CROSS_SELL,
        owner=owner,
        control_percent=Decimal("10"),
        control_seed=SEED,
    )
    campaign.target_segments.add(snapshot.segment)
    campaign.snapshots.add(snapshot)
    ChannelPlan.objects.create(campaign=campaign, channel="email", priority=1)
    ChannelPlan.objects.create(campaign=campaign, channel="sms", priority=2)
    return campaign


@contextmanager
def _timed_statements(into: list[tuple[str, float]]) -> Iterator[None]:
    """Record the time of every statement run inside."""
    from django.db import connection

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            into.append((sql, time.perf_counter() - started))

    with connection.execute_wrapper(wrapper):
        yield


def _hand_written(campaign: Any, twin: Any, snapshot: Any) -> str:
    """One statement, written by hand for this campaign and the default policy: the same decisions."""
    from navid.campaigns.materialise import _A1, _A2, CONTROL_SCALE, PRIME, control_seeds

    s1, s2 = control_seeds(SEED)
    h1 = f"(((m.customer_id %% {PRIME}) * {_A1} + {s1}) %% {PRIME})"
    bucket = f"(((({h1} * {h1} + {s2}) %% {PRIME}) * {_A2} + {s1}) %% {PRIME}) %% {CONTROL_SCALE}"
    return f"""
WITH contacts AS (
  SELECT x.customer_id,
         SUM(CASE WHEN x.at >= %(period)s THEN 1 ELSE 0 END) AS n,
         SUM(CASE WHEN x.channel = 'email' AND x.at >= %(period)s THEN 1 ELSE 0 END) AS n_email,
         SUM(CASE WHEN x.channel = 'sms' AND x.at >= %(period)s THEN 1 ELSE 0 END) AS n_sms,
         MAX(x.at) AS last_at
  FROM (
    SELECT customer_id, CASE channel WHEN 'post' THEN 'mail' ELSE channel END AS channel, occurred_at AS at
      FROM interactions_interaction
     WHERE direction = 'outbound' AND campaign_id IS NULL AND occurred_at >= %(period)s
    UNION ALL
    SELECT customer_id, channel, COALESCE(sent_at, %(ref)s) FROM campaigns_outboxmessage
     WHERE campaign_id <> {campaign.pk}
       AND (state IN ('pending', 'claimed') OR (state IN ('sent', 'delivered') AND sent_at >= %(period)s))
  ) x GROUP BY x.customer_id
),
flags AS (
  SELECT m.customer_id,
         c.id IS NULL OR c.deleted_at IS NOT NULL OR c.merged_into_id IS NOT NULL AS gone,
         c.do_not_contact AS dnc,
         COALESCE(ke.granted, FALSE) AS email_ok,
         COALESCE(ks.granted, FALSE) AS sms_ok,
         c.email <> '' AS has_email,
         c.phone <> '' AS has_phone,
         EXISTS (SELECT 1 FROM campaigns_suppression s
                  WHERE s.channel IN ('email', 'event') AND s.address = c.email) AS email_blocked,
         EXISTS (SELECT 1 FROM campaigns_suppression s
                  WHERE s.channel IN ('sms', 'phone') AND s.address = c.phone) AS sms_blocked,
         COALESCE(t.n, 0) AS n, COALESCE(t.n_email, 0) AS n_email, COALESCE(t.n_sms, 0) AS n_sms,
         t.last_at
  FROM segments_snapshotmember m
  LEFT JOIN customers_customer c ON c.id = m.customer_id
  LEFT JOIN customers_consent ke
         ON ke.customer_id = m.customer_id AND ke.channel = 'email' AND ke.purpose = 'marketing'
  LEFT JOIN customers_consent ks
         ON ks.customer_id = m.customer_id AND ks.channel = 'sms' AND ks.purpose = 'marketing'
  LEFT JOIN contacts t ON t.customer_id = m.customer_id
  WHERE m.snapshot_id = {snapshot.pk}
),
decided AS (
  SELECT customer_id,
         CASE WHEN gone THEN 'deleted'
              WHEN dnc THEN 'do_not_contact'
              WHEN NOT (email_ok OR sms_ok) THEN 'consent'
              WHEN NOT ((email_ok AND has_email) OR (sms_ok AND has_phone)) THEN 'no_address'
              WHEN NOT ((email_ok AND has_email AND NOT email_blocked) OR (sms_ok AND has_phone AND NOT sms_blocked))
                THEN 'suppressed'
              WHEN n >= 4 THEN 'frequency'
              WHEN last_at > %(gap)s THEN 'min_gap'
              WHEN NOT ((email_ok AND has_email AND NOT email_blocked AND n_email < 2)
                        OR (sms_ok AND has_phone AND NOT sms_blocked AND n_sms < 2)) THEN 'channel_frequency'
              ELSE '' END AS rule,
         CASE WHEN email_ok AND has_email AND NOT email_blocked AND n_email < 2 THEN 'email'
              WHEN sms_ok AND has_phone AND NOT sms_blocked AND n_sms < 2 THEN 'sms'
              ELSE '' END AS channel
  FROM flags
)
INSERT INTO campaigns_decision (campaign_id, customer_id, "group", rule, channel)
SELECT {twin.pk}, d.customer_id,
       CASE WHEN d.rule <> '' THEN 'excluded' WHEN {bucket.replace("m.customer_id", "d.customer_id")} < 1000
            THEN 'control' ELSE 'treatment' END,
       d.rule, CASE WHEN d.rule = '' THEN d.channel ELSE '' END
FROM decided d
"""


def _server_cpu() -> float:
    """CPU seconds (user + system) used so far by this connection's PostgreSQL backend, from /proc: unlike the
    wall time, barely changed by other work on a shared machine. 0 when the server runs elsewhere or on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _groups(cursor: Any, sql: str, params: list[Any]) -> dict[tuple[str, str, str], int]:
    cursor.execute(sql, params)
    return {(g, r, c): n for g, r, c, n in cursor.fetchall()}


def main() -> None:
    """Set up once, then time the runs and print the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from navid.campaigns.materialise import WORK_MEM_MB, campaign_materialise
    from navid.campaigns.models import Campaign, Decision, OutboxMessage, Wave

    call_command("migrate", interactive=False, verbosity=0)
    owner, snapshot = _setup()
    snapshot.refresh_from_db()
    print(f"{connection.vendor}: snapshot of {snapshot.member_count:,} customers", flush=True)
    ours: list[float] = []
    hand: list[float] = []
    for run in range(1, args.runs + 1):
        campaign = _campaign(owner, snapshot, run)
        statements: list[tuple[str, float]] = []
        cpu = _server_cpu()
        started = time.perf_counter()
        with _timed_statements(statements):
            result = campaign_materialise(campaign_id=campaign.pk)
        elapsed = time.perf_counter() - started
        ours_cpu = _server_cpu() - cpu
        ours.append(elapsed)
        # On PostgreSQL one statement writes both (a data-modifying CTE): its time is counted as "decisions".
        decisions_s = sum(t for sql, t in statements if 'INSERT INTO "campaigns_decision"' in sql)
        outbox_s = sum(
            t
            for sql, t in statements
            if 'INSERT INTO "campaigns_outboxmessage"' in sql
            and 'INSERT INTO "campaigns_decision"' not in sql
        )
        rest_s = elapsed - sum(t for _, t in statements)  # the commit, mostly

        ref = max(timezone.now(), campaign.starts_at) if campaign.starts_at else timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        params = {
            "period": adapt(ref - dt.timedelta(days=30)),
            "ref": adapt(ref),
            "gap": adapt(ref - dt.timedelta(days=2)),
        }
        twin = _campaign(owner, snapshot, run)
        cpu = _server_cpu()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # the same memory materialise gives its statement
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM_MB}MB'")
            cursor.execute(_hand_written(campaign, twin, snapshot), params)
        hand.append(time.perf_counter() - started)  # with the commit, as materialise's time is
        hand_cpu = _server_cpu() - cpu
        with connection.cursor() as cursor:
            count = (
                'SELECT "group", rule, channel, COUNT(*) FROM campaigns_decision WHERE campaign_id = %s'
                ' GROUP BY "group", rule, channel'
            )
            mine = _groups(cursor, count, [campaign.pk])
            theirs = _groups(cursor, count, [twin.pk])
        agree = "agree" if mine == theirs else f"DIFFER: {sorted(set(mine.items()) ^ set(theirs.items()))}"
        print(
            f"run {run}: {elapsed:6.1f} s (decisions {decisions_s:5.1f} s, outbox {outbox_s:5.1f} s,"
            f" commit and the rest {rest_s:5.1f} s)"
            f"  hand-written {hand[-1]:6.1f} s  ratio {elapsed / hand[-1]:4.2f}"
            f"  | audience {result.audience:,} treatment {result.treatment:,} control {result.control:,}"
            f" messages {result.messages:,}  decisions {agree}",
            flush=True,
        )
        if connection.vendor == "postgresql":
            print(
                f"        server CPU: materialise {ours_cpu:.1f} s, hand-written {hand_cpu:.1f} s,"
                f" ratio {ours_cpu / max(hand_cpu, 0.01):.2f}",
                flush=True,
            )
        excluded = ", ".join(f"{k} {v:,}" for k, v in result.excluded.items() if v)
        print(f"        excluded: {excluded}", flush=True)
        slowest = sorted(statements, key=lambda st: -st[1])[:4]
        print("        slowest statements: " + "; ".join(f"{t:.1f} s {sql[:60]!r}" for sql, t in slowest))
        with transaction.atomic():
            for pk in (campaign.pk, twin.pk):
                OutboxMessage.objects.filter(campaign_id=pk).delete()
                Decision.objects.filter(campaign_id=pk).delete()
                Wave.objects.filter(campaign_id=pk).delete()
                Campaign.objects.filter(pk=pk).delete()
    print(
        f"median of {len(ours)}: materialise {statistics.median(ours):.1f} s, hand-written"
        f" {statistics.median(hand):.1f} s, ratio {statistics.median(ours) / statistics.median(hand):.2f}"
    )


if __name__ == "__main__":
    main()
