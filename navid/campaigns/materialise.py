# ruff: noqa: S608 - statements are built from model table names, integers and codes checked by _lit;
# every value that comes from data is a bound parameter.
"""From a campaign's snapshots to decision rows and outbox messages, set-based (INSERT ... SELECT).

Contract used by the launch task (navid/campaigns/tasks.py) and the campaign page:
- `campaign_materialise(*, campaign_id, wave=1)`: write the decision rows (wave 1 only) and the outbox messages of
  the wave, in one transaction; a second call for the same wave writes nothing more.
- `policy_dry_run(*, campaign)`: how many customers each contact-policy rule would remove, written nowhere.

Every customer is judged by one SQL statement: the audience (the union of the target segments' snapshots) is
joined to customers, consent, suppressed addresses and the contacts of the period, and a CASE gives each customer
the first rule of `policy.RULE_ORDER` that fails, or the campaign channel of highest priority that passes. The
control group is drawn in the same statement by integer arithmetic that SQLite and PostgreSQL compute alike
(`control_bucket` is its Python twin). Quiet hours and days off are computed in Python once per time zone and
picked in SQL by the customer's region. docs/contact-policy.md explains the rules and their order.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import audit_record, model_snapshot
from navid.campaigns import policy as rules
from navid.campaigns.models import (
    Campaign,
    CampaignChannel,
    ContactPolicy,
    Decision,
    Goal,
    Group,
    OutboxMessage,
    OutboxState,
    Suppression,
    Wave,
)
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Consent, ConversionEvent, Customer, ProductHolding
from navid.interactions.models import Direction, Interaction
from navid.segments.models import Segment, Snapshot, SnapshotMember
from navid.segments.selectors import segment_members
from navid.segments.services import snapshot_request, snapshot_take

# The control draw: h1 = (id * A1 + s1) mod P, h2 = (h1² + s2) mod P, h3 = (h2 * A2 + s1) mod P, bucket = h3 mod
# 10,000. P = 2³¹ - 1 is prime and every intermediate value stays below 2⁶², inside a signed 64-bit integer, so
# SQLite and PostgreSQL compute the same buckets exactly; the square makes the draw non-linear in the id.
PRIME = 2_147_483_647
_A1 = 48_271
_A2 = 69_621
CONTROL_SCALE = 10_000  # control_percent has two decimals: the threshold is in hundredths of a percent

WORK_MEM_MB = 64  # PostgreSQL work_mem of the judging statement's transaction
_CODE = re.compile(r"^[a-z_]+$")

# How a campaign channel finds the customer's address, and when the customer has one.
_ADDRESS_SQL: dict[str, str] = {
    CampaignChannel.EMAIL: "c.email",
    CampaignChannel.EVENT: "c.email",
    CampaignChannel.SMS: "c.phone",
    CampaignChannel.PHONE: "c.phone",
    CampaignChannel.MAIL: (
        "SUBSTR(c.address || CASE WHEN c.city <> '' THEN ', ' || c.city ELSE '' END"
        " || CASE WHEN c.postal_code <> '' THEN ', ' || c.postal_code ELSE '' END, 1, 500)"
    ),
}
_HAS_ADDRESS_SQL: dict[str, str] = {
    CampaignChannel.EMAIL: "c.email <> ''",
    CampaignChannel.EVENT: "c.email <> ''",
    CampaignChannel.SMS: "c.phone <> ''",
    CampaignChannel.PHONE: "c.phone <> ''",
    CampaignChannel.MAIL: "c.address <> ''",
}
# Outbox states that count as a contact: waiting or being sent (whenever planned), or sent within the period.
_COUNTED_PENDING = (OutboxState.PENDING, OutboxState.CLAIMED)
_COUNTED_SENT = (OutboxState.SENT, OutboxState.DELIVERED)


@dataclass(frozen=True)
class DryRun:
    """What the policy would do to a campaign's audience now; nothing is written."""

    audience: int
    excluded: dict[
        str, int
    ]  # every rule code of policy.RULE_ORDER, in that order, with the customers it removes
    eligible: int
    channels: dict[str, int]  # eligible customers per channel they would get
    control: int | None  # eligible customers the recorded seed puts in control (None: no seed recorded yet)
    treatment: int | None

    def __iter__(self) -> Iterator[tuple[str, int]]:
        """(rule code, customers it removes) in the rules' order: the lines the campaign page shows."""
        return iter(self.excluded.items())


@dataclass(frozen=True)
class Materialised:
    """What a wave's materialisation wrote (or had written, when `written` is False)."""

    campaign_id: int
    wave: int
    written: bool  # False when the wave had been written before and nothing was written now
    audience: (
        int  # wave 1: customers of the audience; later waves: treatment customers who have not responded
    )
    treatment: int
    control: int
    excluded: dict[
        str, int
    ]  # wave 1: decision rows per rule; later waves: customers the policy holds back now
    messages: int


def control_seeds(seed: int) -> tuple[int, int]:
    """The two offsets of the control draw derived from a campaign's recorded seed."""
    s1 = seed % PRIME
    s2 = ((seed // PRIME) % PRIME * _A1 + s1 * _A2 + 1) % PRIME
    return s1, s2


def control_bucket(customer_id: int, seed: int) -> int:
    """The customer's draw in [0, 10,000): in control when below control_percent × 100 (the SQL's Python twin)."""
    s1, s2 = control_seeds(seed)
    h1 = ((customer_id % PRIME) * _A1 + s1) % PRIME
    h2 = (h1 * h1 + s2) % PRIME
    h3 = (h2 * _A2 + s1) % PRIME
    return h3 % CONTROL_SCALE


def control_threshold(campaign: Campaign) -> int:
    """The bucket below which an eligible customer goes to control (10 % -> 1,000)."""
    return int(campaign.control_percent * 100)


def _control_sql(column: str, *, seed: int, threshold: int) -> str:
    s1, s2 = control_seeds(seed)
    h1 = f"((({column} %% {PRIME}) * {_A1} + {s1}) %% {PRIME})"
    h2 = f"(({h1} * {h1} + {s2}) %% {PRIME})"
    h3 = f"(({h2} * {_A2} + {s1}) %% {PRIME})"
    return f"({h3} %% {CONTROL_SCALE} < {int(threshold)})"


def _t(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _lit(code: str) -> str:
    """A code of ours (channel, purpose, state, rule) as an SQL literal; codes are lower-case words only."""
    if not _CODE.match(code):
        raise ValueError(f"not a code: {code!r}")
    return f"'{code}'"


def _lits(codes: tuple[str, ...] | list[str]) -> str:
    return ", ".join(_lit(c) for c in codes)


def _db_time(moment: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


@dataclass(frozen=True)
class _Fragment:
    sql: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _Setting:
    """Everything the judging statement depends on besides the audience."""

    campaign_id: int
    wave: int
    channels: tuple[str, ...]  # by priority
    purpose: str
    policy: ContactPolicy
    ref: dt.datetime  # the moment contacts are counted back from: when the wave may start sending

    @property
    def counts_contacts(self) -> bool:
        p = self.policy
        return p.max_contacts is not None or p.max_contacts_per_channel is not None or p.min_gap_days > 0


def _channels(campaign: Campaign) -> tuple[str, ...]:
    """The campaign's channels in priority order (1 first)."""
    channels = tuple(campaign.channel_plans.order_by("priority", "id").values_list("channel", flat=True))
    if not channels:
        raise ValidationFailed({"channel_plans": [_("The campaign has no channel.")]})
    unknown = [c for c in channels if c not in CampaignChannel.values]
    if unknown:
        raise ValidationFailed({"channel_plans": [_("Unknown channel: %(c)s") % {"c": ", ".join(unknown)}]})
    return channels


def _start(campaign: Campaign, now: dt.datetime) -> dt.datetime:
    return max(now, campaign.starts_at) if campaign.starts_at else now


# The customer's columns an outbox message is written from, per channel (see _ADDRESS_SQL, _send_after_sql).
_CARRIED: dict[str, tuple[str, ...]] = {
    CampaignChannel.EMAIL: ("email",),
    CampaignChannel.EVENT: ("email",),
    CampaignChannel.SMS: ("phone",),
    CampaignChannel.PHONE: ("phone",),
    CampaignChannel.MAIL: ("address", "city", "postal_code"),
}


def _carried(s: _Setting) -> list[str]:
    columns = ["language", "region_id"]
    for channel in s.channels:
        columns += _CARRIED[channel]
    return list(dict.fromkeys(columns))


def _judged(
    *, audience: _Fragment, exclusion: _Fragment | None, s: _Setting, carry: bool = False
) -> _Fragment:
    """`WITH audience ..., decided AS (customer_id, rule, channel)`: each customer's first failing rule or channel.

    With `carry`, decided also has the customer's columns the outbox is written from, as `c_<column>`."""
    policy = s.policy
    params: list[Any] = list(audience.params)
    ctes = [f"audience AS ({audience.sql})"]
    if exclusion is not None:
        ctes.append(f"excluded AS ({exclusion.sql})")
        params.extend(exclusion.params)
    if s.counts_contacts:
        # Contacts are read back over the period or the gap, whichever is longer; the caps count the period only.
        period_start = _db_time(s.ref - dt.timedelta(days=policy.period_days))
        look_back = _db_time(s.ref - dt.timedelta(days=max(policy.period_days, policy.min_gap_days)))
        channels = list(dict.fromkeys(s.channels))
        per_channel = "".join(
            f", SUM(CASE WHEN x.channel = {_lit(ch)} AND x.at >= %s THEN 1 ELSE 0 END) AS n_{ch}"
            for ch in channels
        )
        ctes.append(
            "contacts AS (SELECT x.customer_id AS customer_id,"
            f" SUM(CASE WHEN x.at >= %s THEN 1 ELSE 0 END) AS n, MAX(x.at) AS last_at{per_channel} FROM ("
            "SELECT i.customer_id AS customer_id,"
            " CASE i.channel WHEN 'post' THEN 'mail' ELSE i.channel END AS channel, i.occurred_at AS at"
            f" FROM {_t(Interaction)} i WHERE i.direction = {_lit(Direction.OUTBOUND)}"
            " AND i.campaign_id IS NULL AND i.occurred_at >= %s"
            " UNION ALL "
            "SELECT o.customer_id, o.channel, COALESCE(o.sent_at, %s)"
            f" FROM {_t(OutboxMessage)} o WHERE NOT (o.campaign_id = {int(s.campaign_id)} AND o.wave = {int(s.wave)})"
            f" AND (o.state IN ({_lits(_COUNTED_PENDING)})"
            f" OR (o.state IN ({_lits(_COUNTED_SENT)}) AND o.sent_at >= %s))"
            ") x GROUP BY x.customer_id)"
        )
        params.extend(
            [period_start, *([period_start] * len(channels)), look_back, _db_time(s.ref), look_back]
        )

    joins: list[str] = []
    consent_ok: list[str] = []
    address_ok: list[str] = []
    unsuppressed: list[str] = []
    usable: list[str] = []
    for i, channel in enumerate(s.channels):
        default = "TRUE" if rules.allowed_without_consent(policy=policy, channel=channel) else "FALSE"
        joins.append(
            f" LEFT JOIN {_t(Consent)} k{i} ON k{i}.customer_id = a.customer_id"
            f" AND k{i}.channel = {_lit(rules.CONSENT_CHANNEL[channel])} AND k{i}.purpose = {_lit(s.purpose)}"
        )
        joins.append(
            f" LEFT JOIN (SELECT DISTINCT address FROM {_t(Suppression)}"
            f" WHERE channel IN ({_lits(rules.SUPPRESSION_CHANNELS[channel])})) s{i}"
            f" ON s{i}.address = {_ADDRESS_SQL[channel]}"
        )
        consent = f"COALESCE(k{i}.granted, {default})"
        consent_ok.append(consent)
        address_ok.append(f"({consent} AND {_HAS_ADDRESS_SQL[channel]})")
        passes = f"({consent} AND {_HAS_ADDRESS_SQL[channel]} AND s{i}.address IS NULL)"
        unsuppressed.append(passes)
        if policy.max_contacts_per_channel is not None:
            passes = f"({passes} AND COALESCE(t.n_{channel}, 0) < {int(policy.max_contacts_per_channel)})"
        usable.append(passes)

    whens = [
        f"WHEN c.id IS NULL OR c.deleted_at IS NOT NULL OR c.merged_into_id IS NOT NULL THEN {_lit(rules.Rule.DELETED)}"
    ]
    if exclusion is not None:
        whens.append(
            f"WHEN a.customer_id IN (SELECT customer_id FROM excluded) THEN {_lit(rules.Rule.EXCLUSION_SEGMENT)}"
        )
    whens += [
        f"WHEN c.do_not_contact THEN {_lit(rules.Rule.DO_NOT_CONTACT)}",
        f"WHEN NOT ({' OR '.join(consent_ok)}) THEN {_lit(rules.Rule.CONSENT)}",
        f"WHEN NOT ({' OR '.join(address_ok)}) THEN {_lit(rules.Rule.NO_ADDRESS)}",
        f"WHEN NOT ({' OR '.join(unsuppressed)}) THEN {_lit(rules.Rule.SUPPRESSED)}",
    ]
    rule_params: list[Any] = []
    if policy.max_contacts is not None:
        whens.append(f"WHEN COALESCE(t.n, 0) >= {int(policy.max_contacts)} THEN {_lit(rules.Rule.FREQUENCY)}")
    if policy.min_gap_days > 0:
        whens.append(f"WHEN t.last_at > %s THEN {_lit(rules.Rule.MIN_GAP)}")
        rule_params.append(_db_time(s.ref - dt.timedelta(days=policy.min_gap_days)))
    if policy.max_contacts_per_channel is not None:
        whens.append(f"WHEN NOT ({' OR '.join(usable)}) THEN {_lit(rules.Rule.CHANNEL_FREQUENCY)}")
    channel_case = " ".join(
        f"WHEN {cond} THEN {_lit(ch)}" for cond, ch in zip(usable, s.channels, strict=True)
    )
    contacts_join = " LEFT JOIN contacts t ON t.customer_id = a.customer_id" if s.counts_contacts else ""
    carried = "".join(f", c.{column} AS c_{column}" for column in _carried(s)) if carry else ""
    ctes.append(
        "decided AS (SELECT a.customer_id AS customer_id,"
        f" CASE {' '.join(whens)} ELSE '' END AS rule,"
        f" CASE {channel_case} ELSE '' END AS channel{carried}"
        f" FROM audience a LEFT JOIN {_t(Customer)} c ON c.id = a.customer_id{''.join(joins)}{contacts_join})"
    )
    params.extend(rule_params)
    return _Fragment("WITH " + ", ".join(ctes), tuple(params))


def _send_after_sql(*, s: _Setting, base: dt.datetime) -> _Fragment:
    """`send_after` of a message: the base time, or for quiet-hour channels the next open moment in the customer's
    time zone, computed once per time zone and chosen by the customer's region."""
    policy = s.policy
    quiet = [ch for ch in s.channels if ch in policy.quiet_channels]
    if not quiet:
        return _Fragment("%s", (_db_time(base),))
    zones = rules.region_time_zones()
    whens: list[str] = []
    params: list[Any] = []
    for name, region_ids in zones.items():
        moment = rules.next_allowed_moment(after=base, zone=zoneinfo.ZoneInfo(name), policy=policy)
        whens.append(f"WHEN c.region_id IN ({', '.join(str(int(pk)) for pk in region_ids)}) THEN %s")
        params.append(_db_time(moment))
    default = rules.next_allowed_moment(after=base, zone=rules.default_time_zone(), policy=policy)
    params += [_db_time(default), _db_time(base)]
    zone_case = f"CASE {' '.join(whens)} ELSE %s END" if whens else "%s"
    return _Fragment(f"CASE WHEN d.channel IN ({_lits(quiet)}) THEN {zone_case} ELSE %s END", tuple(params))


def _outbox_insert(*, s: _Setting, send_after: _Fragment, source: str) -> str:
    """INSERT ... SELECT of one pending message per row of `source` (aliases d: customer_id, channel; c: customer)."""
    address = " ".join(f"WHEN {_lit(ch)} THEN {_ADDRESS_SQL[ch]}" for ch in dict.fromkeys(s.channels))
    table = _t(OutboxMessage)
    return (
        f"INSERT INTO {table} (campaign_id, wave, customer_id, channel, language, address, idempotency_key,"
        " state, send_after, claim_token, lease_until, attempts, sent_at, delivered_at, opened_at, clicked_at,"
        " provider_id, cost, error)"
        f" SELECT {int(s.campaign_id)}, {int(s.wave)}, d.customer_id, d.channel, c.language,"
        f" CASE d.channel {address} ELSE '' END,"
        f" '{int(s.campaign_id)}:{int(s.wave)}:' || CAST(d.customer_id AS TEXT) || ':' || d.channel,"
        f" {_lit(OutboxState.PENDING)}, {send_after.sql}, '', NULL, 0, NULL, NULL, NULL, NULL, '', 0, ''"
        f" {source} ON CONFLICT (idempotency_key) DO NOTHING"
    )


def _members_sql(segment: Segment, now: dt.datetime) -> _Fragment:
    """A segment's members evaluated now, as `SELECT ... AS customer_id`."""
    members = segment_members(segment=segment, user=None, now=now).order_by().values(customer_id=F("pk"))
    sql, params = members.query.sql_with_params()
    return _Fragment(sql, tuple(params))


def _union(parts: list[_Fragment]) -> _Fragment:
    return _Fragment(" UNION ".join(p.sql for p in parts), tuple(p for part in parts for p in part.params))


def _snapshots_sql(snapshot_ids: list[int]) -> _Fragment:
    table = _t(SnapshotMember)
    if len(snapshot_ids) == 1:  # one snapshot holds each customer once: no DISTINCT, no sort
        return _Fragment(
            f"SELECT m.customer_id AS customer_id FROM {table} m WHERE m.snapshot_id = {int(snapshot_ids[0])}"
        )
    ids = ", ".join(str(int(pk)) for pk in snapshot_ids)
    return _Fragment(
        f"SELECT DISTINCT m.customer_id AS customer_id FROM {table} m WHERE m.snapshot_id IN ({ids})"
    )


def _latest_snapshots(campaign: Campaign) -> dict[int, int]:
    """{target segment id: id of its latest done snapshot recorded for the campaign}."""
    latest: dict[int, int] = {}
    rows = campaign.snapshots.filter(state=Snapshot.State.DONE).order_by("taken_at", "id")
    for segment_id, pk in rows.values_list("segment_id", "pk"):
        latest[segment_id] = pk
    return latest


def _targets(campaign: Campaign) -> list[Segment]:
    targets = list(campaign.target_segments.order_by("pk"))
    if not targets:
        raise ValidationFailed({"target_segments": [_("The campaign has no target segment.")]})
    return targets


def _exclusion(campaign: Campaign, now: dt.datetime) -> _Fragment | None:
    segments = list(campaign.exclusion_segments.order_by("pk"))
    return _union([_members_sql(seg, now) for seg in segments]) if segments else None


def _launch_snapshots(campaign: Campaign) -> list[int]:
    """The snapshot of every target segment, taken now for those that have none recorded for the campaign."""
    latest = _latest_snapshots(campaign)
    ids: list[int] = []
    for segment in _targets(campaign):
        if segment.pk in latest:
            ids.append(latest[segment.pk])
            continue
        snapshot = snapshot_take(snapshot_id=snapshot_request(actor=None, segment=segment).pk)
        if snapshot.state != Snapshot.State.DONE:
            raise Conflict(
                _("The segment “%(name)s” could not be frozen: %(why)s")
                % {"name": segment.name, "why": snapshot.message}
            )
        campaign.snapshots.add(snapshot)
        ids.append(snapshot.pk)
    return ids


def _excluded_counts(rows: dict[str, int]) -> dict[str, int]:
    return {code: rows.get(code, 0) for code in rules.RULE_ORDER}


def _decision_counts(campaign_id: int) -> tuple[int, int, dict[str, int]]:
    treatment = control = 0
    excluded: dict[str, int] = {}
    grouped = (
        Decision.objects.filter(campaign_id=campaign_id)
        .values_list("group", "rule")
        .order_by()
        .annotate(n=Count("id"))
    )
    for group, rule, n in grouped:
        if group == Group.TREATMENT:
            treatment += n
        elif group == Group.CONTROL:
            control += n
        else:
            excluded[rule] = excluded.get(rule, 0) + n
    return treatment, control, _excluded_counts(excluded)


def _more_memory_for_joins(cursor: Any) -> None:
    """On PostgreSQL, let this transaction's hash joins and aggregates of a million customers stay in memory
    (the default 4 MB sends them to disk in batches); SET LOCAL ends with the transaction."""
    if connection.vendor == "postgresql":
        cursor.execute(f"SET LOCAL work_mem = '{int(WORK_MEM_MB)}MB'")


def policy_dry_run(*, campaign: Campaign) -> DryRun:
    """Count, per contact-policy rule, the customers it would remove from the campaign."""
    policy = rules.contact_policy_get()
    now = timezone.now()
    latest = _latest_snapshots(campaign)
    parts = [
        _snapshots_sql([latest[seg.pk]]) if seg.pk in latest else _members_sql(seg, now)
        for seg in _targets(campaign)
    ]
    s = _Setting(
        campaign_id=campaign.pk,
        wave=1,
        channels=_channels(campaign),
        purpose=rules.consent_purpose(goal=campaign.goal),
        policy=policy,
        ref=_start(campaign, now),
    )
    judged = _judged(audience=_union(parts), exclusion=_exclusion(campaign, now), s=s)
    seed = campaign.control_seed
    in_control = (
        _control_sql("d.customer_id", seed=seed, threshold=control_threshold(campaign))
        if seed is not None
        else "1 = 0"
    )
    sql = (
        f"{judged.sql} SELECT rule, channel, in_control, COUNT(*) FROM ("
        f"SELECT d.rule AS rule, d.channel AS channel, CASE WHEN d.rule = '' AND {in_control} THEN 1 ELSE 0 END"
        " AS in_control FROM decided d) z GROUP BY rule, channel, in_control"
    )
    excluded: dict[str, int] = {}
    channels: dict[str, int] = {}
    control = eligible = 0
    with transaction.atomic(), connection.cursor() as cursor:
        _more_memory_for_joins(cursor)
        cursor.execute(sql, list(judged.params))
        for rule, channel, flag, n in cursor.fetchall():
            if rule:
                excluded[rule] = excluded.get(rule, 0) + n
                continue
            eligible += n
            channels[channel] = channels.get(channel, 0) + n
            control += n if flag else 0
    counted = _excluded_counts(excluded)
    return DryRun(
        audience=eligible + sum(counted.values()),
        excluded=counted,
        eligible=eligible,
        channels={ch: channels.get(ch, 0) for ch in dict.fromkeys(s.channels)},
        control=control if seed is not None else None,
        treatment=eligible - control if seed is not None else None,
    )


@transaction.atomic
def campaign_materialise(*, campaign_id: int, wave: int = 1) -> Materialised:
    """Write the campaign's decision rows and the wave's outbox messages."""
    if wave < 1:
        raise ValidationFailed({"wave": [_("Waves are numbered from 1.")]})
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("No campaign %(id)s.") % {"id": campaign_id})
    if wave == 1:
        return _first_wave(campaign)
    return _later_wave(campaign, wave)


def _first_wave(campaign: Campaign) -> Materialised:
    if campaign.materialised_at is not None:
        treatment, control, excluded = _decision_counts(campaign.pk)
        first = Wave.objects.filter(campaign=campaign, number=1).first()
        return Materialised(
            campaign_id=campaign.pk,
            wave=1,
            written=False,
            audience=treatment + control + sum(excluded.values()),
            treatment=treatment,
            control=control,
            excluded=excluded,
            messages=first.messages if first else 0,
        )
    policy = rules.contact_policy_get()
    channels = _channels(campaign)
    now = timezone.now()
    base = _start(campaign, now)
    if campaign.control_seed is None:
        before = model_snapshot(campaign)
        campaign.control_seed = secrets.randbelow(10**12)
        campaign.save(update_fields=["control_seed", "updated_at"])
        audit_record(
            actor=None,
            action=AuditAction.UPDATE,
            instance=campaign,
            before=before,
            after=model_snapshot(campaign),
        )
    s = _Setting(
        campaign_id=campaign.pk,
        wave=1,
        channels=channels,
        purpose=rules.consent_purpose(goal=campaign.goal),
        policy=policy,
        ref=base,
    )
    audience = _snapshots_sql(_launch_snapshots(campaign))
    one_statement = connection.vendor == "postgresql"
    judged = _judged(audience=audience, exclusion=_exclusion(campaign, now), s=s, carry=one_statement)
    in_control = _control_sql(
        "d.customer_id", seed=campaign.control_seed, threshold=control_threshold(campaign)
    )
    decisions = (
        f"{judged.sql} INSERT INTO {_t(Decision)} (campaign_id, customer_id, {connection.ops.quote_name('group')},"
        f" rule, channel) SELECT {int(campaign.pk)}, d.customer_id,"
        f" CASE WHEN d.rule <> '' THEN {_lit(Group.EXCLUDED)} WHEN {in_control} THEN {_lit(Group.CONTROL)}"
        f" ELSE {_lit(Group.TREATMENT)} END, d.rule, CASE WHEN d.rule <> '' THEN '' ELSE d.channel END"
        " FROM decided d"
    )
    send_after = _send_after_sql(s=s, base=base)
    source = (
        f"FROM {_t(Decision)} d JOIN {_t(Customer)} c ON c.id = d.customer_id"
        f" WHERE d.campaign_id = {int(campaign.pk)} AND d.{connection.ops.quote_name('group')} = {_lit(Group.TREATMENT)}"
    )
    with connection.cursor() as cursor:
        _more_memory_for_joins(cursor)
        if one_statement:
            # One statement: the decision rows are inserted by a data-modifying CTE, and the outbox is written from
            # the same judged rows, which carry the customer's columns it needs: neither the just-written decisions
            # nor the customers are read again.
            written = decisions.removeprefix(judged.sql).strip()
            customer = ", ".join(f"d.c_{column} AS {column}" for column in _carried(s))
            treated = (
                f"FROM decided d CROSS JOIN LATERAL (SELECT {customer}) c"
                f" WHERE d.rule = '' AND NOT {in_control}"
            )
            cursor.execute(
                f"{judged.sql}, written AS ({written}) "
                + _outbox_insert(s=s, send_after=send_after, source=treated),
                [*judged.params, *send_after.params],
            )
        else:
            cursor.execute(decisions, list(judged.params))
            cursor.execute(_outbox_insert(s=s, send_after=send_after, source=source), list(send_after.params))
        messages = cursor.rowcount
    campaign.materialised_at = now
    campaign.save(update_fields=["materialised_at", "updated_at"])
    Wave.objects.update_or_create(
        campaign=campaign,
        number=1,
        defaults={"scheduled_at": base, "state": Wave.WaveState.WRITTEN, "messages": messages},
    )
    for number in range(2, campaign.waves_max + 1):
        Wave.objects.get_or_create(
            campaign=campaign,
            number=number,
            defaults={
                "scheduled_at": base + dt.timedelta(days=campaign.repeat_every_days * (number - 1)),
                "state": Wave.WaveState.PLANNED,
            },
        )
    treatment, control_count, excluded = _decision_counts(campaign.pk)
    return Materialised(
        campaign_id=campaign.pk,
        wave=1,
        written=True,
        audience=treatment + control_count + sum(excluded.values()),
        treatment=treatment,
        control=control_count,
        excluded=excluded,
        messages=messages,
    )


def _non_responders(campaign: Campaign, *, since: dt.datetime) -> _Fragment:
    """Treatment customers with no response to the campaign yet: no inbound interaction linked to it, no click on
    one of its messages, and no conversion (the conversion product opened, or for acquisition becoming a customer)
    since `since`."""
    cid = int(campaign.pk)
    group = connection.ops.quote_name("group")
    sql = (
        f"SELECT d.customer_id AS customer_id FROM {_t(Decision)} d"
        f" WHERE d.campaign_id = {cid} AND d.{group} = {_lit(Group.TREATMENT)}"
        f" AND d.customer_id NOT IN (SELECT i.customer_id FROM {_t(Interaction)} i WHERE i.campaign_id = {cid}"
        f" AND i.direction = {_lit(Direction.INBOUND)} AND i.customer_id IS NOT NULL)"
        f" AND d.customer_id NOT IN (SELECT o.customer_id FROM {_t(OutboxMessage)} o WHERE o.campaign_id = {cid}"
        " AND o.clicked_at IS NOT NULL)"
    )
    params: list[Any] = []
    product_type_id = campaign.conversion_product_type_id or (
        campaign.offer.product_type_id if campaign.offer else None
    )
    if product_type_id is not None:
        sql += (
            f" AND d.customer_id NOT IN (SELECT h.customer_id FROM {_t(ProductHolding)} h"
            f" WHERE h.product_type_id = {int(product_type_id)} AND h.opened_on >= %s)"
        )
        params.append(timezone.localdate(since))
    if campaign.goal == Goal.ACQUISITION:
        sql += f" AND d.customer_id NOT IN (SELECT e.customer_id FROM {_t(ConversionEvent)} e WHERE e.occurred_at >= %s)"
        params.append(_db_time(since))
    return _Fragment(sql, tuple(params))


def _later_wave(campaign: Campaign, number: int) -> Materialised:
    if campaign.materialised_at is None:
        raise Conflict(_("Wave 1 of this campaign has not been written yet."))
    if number > campaign.waves_max:
        raise ValidationFailed(
            {"wave": [_("This campaign has at most %(n)s waves.") % {"n": campaign.waves_max}]}
        )
    waves = {w.number: w for w in Wave.objects.select_for_update().filter(campaign=campaign)}
    previous, current = waves.get(number - 1), waves.get(number)
    if previous is None or previous.state in {Wave.WaveState.PLANNED, Wave.WaveState.CANCELLED}:
        raise Conflict(_("Wave %(n)s has not been written.") % {"n": number - 1})
    treatment, control, _excluded = _decision_counts(campaign.pk)
    if current is not None and current.state == Wave.WaveState.CANCELLED:
        raise Conflict(_("Wave %(n)s was cancelled.") % {"n": number})
    if current is not None and current.state != Wave.WaveState.PLANNED:
        return Materialised(
            campaign_id=campaign.pk,
            wave=number,
            written=False,
            audience=0,
            treatment=treatment,
            control=control,
            excluded=_excluded_counts({}),
            messages=current.messages,
        )
    now = timezone.now()
    scheduled = (
        current.scheduled_at
        if current is not None
        else previous.scheduled_at + dt.timedelta(days=campaign.repeat_every_days)
    )
    base = max(now, scheduled)
    s = _Setting(
        campaign_id=campaign.pk,
        wave=number,
        channels=_channels(campaign),
        purpose=rules.consent_purpose(goal=campaign.goal),
        policy=rules.contact_policy_get(),
        ref=base,
    )
    first = waves[1]
    judged = _judged(audience=_non_responders(campaign, since=first.scheduled_at), exclusion=None, s=s)
    send_after = _send_after_sql(s=s, base=base)
    source = f"FROM decided d JOIN {_t(Customer)} c ON c.id = d.customer_id WHERE d.rule = ''"
    held_back: dict[str, int] = {}
    audience = 0
    with connection.cursor() as cursor:
        _more_memory_for_joins(cursor)
        cursor.execute(f"{judged.sql} SELECT rule, COUNT(*) FROM decided GROUP BY rule", list(judged.params))
        for rule, n in cursor.fetchall():
            audience += n
            if rule:
                held_back[rule] = n
        cursor.execute(
            f"{judged.sql} {_outbox_insert(s=s, send_after=send_after, source=source)}",
            [*judged.params, *send_after.params],
        )
    # Counted, not taken from the cursor: SQLite reports no row count for a statement that starts with WITH.
    messages = OutboxMessage.objects.filter(campaign=campaign, wave=number).count()
    Wave.objects.update_or_create(
        campaign=campaign,
        number=number,
        defaults={"scheduled_at": scheduled, "state": Wave.WaveState.WRITTEN, "messages": messages},
    )
    return Materialised(
        campaign_id=campaign.pk,
        wave=number,
        written=True,
        audience=audience,
        treatment=treatment,
        control=control,
        excluded=_excluded_counts(held_back),
        messages=messages,
    )
