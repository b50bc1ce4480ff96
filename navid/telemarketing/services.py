"""Writes of telemarketing: call lists, taking the next call, outcomes, callbacks, leases and settings.

Two agents can never hold the same customer: an entry is taken by one conditional UPDATE (state queued ->
active, on PostgreSQL on a row picked with SELECT ... FOR UPDATE SKIP LOCKED), and a partial unique index allows
one active entry per customer across every campaign. A taken entry carries a lease that the agent's console (or
the dialer process) renews; when it runs out the attempt is recorded and the customer goes back to the queue.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, audit_save, audit_update, model_snapshot
from navid.campaigns.execution import campaign_complete_if_done
from navid.campaigns.models import (
    Campaign,
    CampaignChannel,
    Goal,
    OutboxMessage,
    OutboxState,
    State,
    Suppression,
)
from navid.campaigns.policy import (
    allowed_without_consent,
    contact_policy_get,
    default_time_zone,
    next_allowed_moment,
    region_time_zones,
)
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.models import Channel, Consent, ConsentPurpose, Customer
from navid.customers.services import consent_set
from navid.interactions.models import Direction, Interaction, InteractionChannel, InteractionKind, Outcome
from navid.sales.models import FollowUpSource, LeadSource
from navid.sales.services import followup_create, lead_create
from navid.telemarketing.models import (
    Agent,
    AgentState,
    AssignmentRule,
    AttemptState,
    CallAttempt,
    CallEntry,
    CallSettings,
    DialMode,
    DialResult,
    EntryState,
    OutcomeAction,
    OutcomeCode,
    ScriptBranch,
    ScriptNode,
)

# The claim token of phone outbox rows on a call list.
CALL_LIST_CLAIM = "call-list"
# How long a taken entry stays with its holder without a heartbeat; the console polls every 2 seconds.
LEASE_SECONDS = 60
# What a dial result does to the entry when no agent chose an outcome (busy, no answer, failed, abandoned).
DIAL_RESULT_CODES = {
    DialResult.BUSY: "busy",
    DialResult.NO_ANSWER: "no_answer",
    DialResult.FAILED: "failed",
    DialResult.ABANDONED: "abandoned",
}
_DIAL_INTERACTION_OUTCOME = {
    DialResult.BUSY: Outcome.BUSY,
    DialResult.NO_ANSWER: Outcome.NO_ANSWER,
    DialResult.FAILED: Outcome.FAILED,
    DialResult.ABANDONED: Outcome.OTHER,
    DialResult.ANSWERED: Outcome.COMPLETED,
}

# The outcome codes a campaign starts with: (code, fa, ru, en, action, interaction outcome, contacted, converted,
# attempts at most, minutes between attempts, offered to agents).
DEFAULT_OUTCOMES: tuple[tuple[str, str, str, str, str, str, bool, bool, int, int, bool], ...] = (
    ("interested", "علاقه‌مند", "Заинтересован", "Interested", OutcomeAction.INTERESTED, Outcome.INTERESTED,
     True, True, 1, 0, True),
    ("not_interested", "علاقه‌مند نیست", "Не заинтересован", "Not interested", OutcomeAction.FINISH,
     Outcome.NOT_INTERESTED, True, False, 1, 0, True),
    ("call_back", "تماس مجدد در زمان مقرر", "Перезвонить в назначенное время", "Call back at",
     OutcomeAction.CALLBACK, Outcome.CALLBACK, True, False, 5, 0, True),
    ("wrong_number", "شماره اشتباه", "Неверный номер", "Wrong number", OutcomeAction.WRONG_NUMBER,
     Outcome.FAILED, False, False, 1, 0, True),
    ("do_not_call", "دیگر تماس نگیرید", "Больше не звонить", "Do not call", OutcomeAction.DO_NOT_CALL,
     Outcome.NOT_INTERESTED, True, False, 1, 0, True),
    ("no_answer", "پاسخ نداد", "Нет ответа", "No answer", OutcomeAction.RETRY, Outcome.NO_ANSWER,
     False, False, 3, 120, True),
    ("busy", "مشغول", "Занято", "Busy", OutcomeAction.RETRY, Outcome.BUSY, False, False, 3, 30, True),
    ("failed", "برقرار نشد", "Не удалось соединить", "Failed", OutcomeAction.RETRY, Outcome.FAILED,
     False, False, 2, 60, False),
    ("abandoned", "رها شده (اپراتور آزاد نبود)", "Брошен (нет свободного оператора)", "Abandoned",
     OutcomeAction.RETRY, Outcome.OTHER, False, False, 3, 15, False),
)  # fmt: skip


def _lease(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=LEASE_SECONDS)


# Settings, outcome codes and scripts ---------------------------------------------------------------------------
SETTINGS_FIELDS = (
    "mode",
    "trunk",
    "caller_id",
    "max_abandon_percent",
    "tariff_per_minute",
    "assignment",
    "skill",
    "ring_timeout_seconds",
)


def _full_clean(instance: Any, exclude: Sequence[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        raise ValidationFailed(
            {name: [str(message) for message in messages] for name, messages in exc.message_dict.items()}
        ) from exc


def _require(actor: Actor, permission: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied(_("You may not do this."))


@transaction.atomic
def outcome_codes_ensure(*, campaign: Campaign) -> int:
    """Give a campaign without outcome codes the default set; answer how many were created."""
    if OutcomeCode.objects.filter(campaign=campaign).exists():
        return 0
    OutcomeCode.objects.bulk_create(
        OutcomeCode(
            campaign=campaign,
            code=code,
            label_fa=fa,
            label_ru=ru,
            label_en=en,
            action=action,
            interaction_outcome=outcome,
            contacted=contacted,
            converted=converted,
            retry_attempts=attempts,
            retry_minutes=minutes,
            for_agents=for_agents,
            position=position,
        )
        for position, (
            code,
            fa,
            ru,
            en,
            action,
            outcome,
            contacted,
            converted,
            attempts,
            minutes,
            for_agents,
        ) in (enumerate(DEFAULT_OUTCOMES))
    )
    return len(DEFAULT_OUTCOMES)


@transaction.atomic
def call_settings_save(*, actor: Actor, campaign: Campaign, values: Mapping[str, Any]) -> CallSettings:
    """Create or change a campaign's call settings (checked, audited); a new one gets the default outcome codes."""
    _require(actor, "telemarketing.manage_call_campaigns")
    unknown = sorted(set(values) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationFailed({name: [_("is not a call setting")] for name in unknown})
    settings_row = CallSettings.objects.filter(campaign=campaign).first()
    before = model_snapshot(settings_row) if settings_row else None
    if settings_row is None:
        settings_row = CallSettings(campaign=campaign)
    for name, value in values.items():
        setattr(settings_row, name, value)
    errors: dict[str, list[str]] = {}
    if settings_row.mode != DialMode.PREVIEW and not settings_row.trunk:
        errors["trunk"] = [_("The progressive and predictive modes need the trunk to call through.")]
    if settings_row.assignment == AssignmentRule.SKILL and not settings_row.skill:
        errors["skill"] = [_("Assignment by skill needs the skill.")]
    try:
        settings_row.full_clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(str(m) for m in messages)
    if errors:
        raise ValidationFailed(errors)
    settings_row.save()
    outcome_codes_ensure(campaign=campaign)
    audit_save(actor=actor, instance=settings_row, before=before)
    return settings_row


def call_settings_for(*, campaign_id: int) -> CallSettings:
    """The campaign's call settings, or unsaved defaults (preview mode, round robin, no tariff)."""
    return CallSettings.objects.filter(campaign_id=campaign_id).first() or CallSettings(
        campaign_id=campaign_id
    )


@transaction.atomic
def outcome_code_save(
    *, actor: Actor, campaign: Campaign, values: Mapping[str, Any], code: OutcomeCode | None = None
) -> OutcomeCode:
    """Add or change one outcome code of a campaign (checked, audited)."""
    _require(actor, "telemarketing.manage_call_campaigns")
    before = model_snapshot(code) if code else None
    code = code or OutcomeCode(campaign=campaign)
    for name, value in values.items():
        setattr(code, name, value)
    _full_clean(code, exclude=["campaign"])
    if OutcomeCode.objects.filter(campaign=campaign, code=code.code).exclude(pk=code.pk).exists():
        raise ValidationFailed({"code": [_("This campaign already has an outcome with this code.")]})
    code.save()
    audit_save(actor=actor, instance=code, before=before)
    return code


# Call lists ------------------------------------------------------------------------------------------------------
@transaction.atomic
def call_list_sync(*, campaign_id: int) -> int:
    """Write the call list entries of the campaign's phone outbox rows not listed yet (one INSERT ... SELECT) and
    mark those rows as taken by the call list, so that the next sync reads only new ones (a later wave); answer how
    many were added. Safe to repeat: the outbox id is unique."""
    entry = CallEntry._meta.db_table
    outbox = OutboxMessage._meta.db_table
    customer = Customer._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entry} (campaign_id, customer_id, outbox_id, phone, language, region_id, state,
                                 next_call_at, attempts, claim_token, last_outcome)
            SELECT o.campaign_id, o.customer_id, o.id, o.address, o.language, c.region_id, %s,
                   COALESCE(o.send_after, %s), 0, '', ''
            FROM {outbox} o JOIN {customer} c ON c.id = o.customer_id
            WHERE o.campaign_id = %s AND o.channel = %s AND o.state = %s
            ON CONFLICT (outbox_id) DO NOTHING
            """,  # noqa: S608 (table names are the models')
            [EntryState.QUEUED, now, campaign_id, CampaignChannel.PHONE, OutboxState.PENDING],
        )
        added = max(cursor.rowcount, 0)
        # Listed rows are "being sent" (called) until their entry is done; no sending worker claims them (their
        # lease is empty) and the campaign completes only when they are final.
        cursor.execute(
            f"""
            UPDATE {outbox} SET state = %s, claim_token = %s
            WHERE campaign_id = %s AND channel = %s AND state = %s
              AND EXISTS (SELECT 1 FROM {entry} e WHERE e.outbox_id = {outbox}.id)
            """,  # noqa: S608
            [OutboxState.CLAIMED, CALL_LIST_CLAIM, campaign_id, CampaignChannel.PHONE, OutboxState.PENDING],
        )
    if added:
        call_list_assign(campaign_id=campaign_id)
    return added


def _agents_for(settings_row: CallSettings, agents: Sequence[Agent]) -> list[Agent]:
    if settings_row.assignment == AssignmentRule.SKILL:
        return [a for a in agents if settings_row.skill in (a.skills or [])]
    return list(agents)


@transaction.atomic
def call_list_assign(*, campaign_id: int) -> int:
    """Give the campaign's unassigned queued entries to its agents by the campaign's rule; answer how many.

    Round robin and skill deal entries in turn (skill: among the agents with the skill); language and region deal
    them in turn among the agents who speak the customer's language or work the customer's region; workload gives
    each entry to the agent with the fewest open entries. An entry no agent matches stays unassigned for the
    supervisor to give.
    """
    settings_row = call_settings_for(campaign_id=campaign_id)
    agents = _agents_for(
        settings_row, list(Agent.objects.filter(campaigns__id=campaign_id).order_by("pk").distinct())
    )
    if not agents:
        return 0
    rule = settings_row.assignment
    if rule == AssignmentRule.WORKLOAD:
        return _assign_by_workload(campaign_id=campaign_id, agents=agents)
    # Every other rule deals the entries of each group (one group, or one per language or region) in turn among
    # the group's pool of agents: one UPDATE numbering the entries with row_number() per group.
    if rule == AssignmentRule.LANGUAGE:
        key_sql = "e.language"
        pools = {code: [a.pk for a in agents if code in (a.languages or [])] for code in ("fa", "ru", "en")}
    elif rule == AssignmentRule.REGION:
        key_sql = "CAST(COALESCE(e.region_id, -1) AS TEXT)"
        regions = {a.region_id for a in agents if a.region_id is not None}
        pools = {str(region): [a.pk for a in agents if a.region_id == region] for region in regions}
    else:
        key_sql = "''"
        pools = {"": [a.pk for a in agents]}
    pools = {key: members for key, members in pools.items() if members}
    if not pools:
        return 0
    slots = [(key, slot, agent_id) for key, members in pools.items() for slot, agent_id in enumerate(members)]
    sizes = [(key, len(members)) for key, members in pools.items()]
    entry = CallEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH pools(k, slot, agent_id) AS (VALUES {", ".join(["(%s, %s, %s)"] * len(slots))}),
                 sizes(k, n) AS (VALUES {", ".join(["(%s, %s)"] * len(sizes))}),
                 numbered AS (
                     SELECT e.id, {key_sql} AS k,
                            row_number() OVER (PARTITION BY {key_sql} ORDER BY e.id) - 1 AS rn
                     FROM {entry} e
                     WHERE e.campaign_id = %s AND e.state = %s AND e.agent_id IS NULL
                 )
            UPDATE {entry} SET agent_id = pools.agent_id
            FROM numbered JOIN sizes ON sizes.k = numbered.k
                 JOIN pools ON pools.k = numbered.k AND pools.slot = numbered.rn %% sizes.n
            WHERE {entry}.id = numbered.id
            """,  # noqa: S608 (table names and the key expression are fixed; values are parameters)
            [
                *(value for row in slots for value in row),
                *(value for row in sizes for value in row),
                campaign_id,
                EntryState.QUEUED,
            ],
        )
        return max(cursor.rowcount, 0)


def _assign_by_workload(*, campaign_id: int, agents: Sequence[Agent]) -> int:
    """Each unassigned entry to the agent with the fewest open entries (the lower id on a tie)."""
    entries = list(
        CallEntry.objects.filter(campaign_id=campaign_id, state=EntryState.QUEUED, agent__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not entries:
        return 0
    load = dict(
        CallEntry.objects.filter(agent__in=agents)
        .exclude(state=EntryState.DONE)
        .values_list("agent_id")
        .annotate(n=Count("pk"))
        .values_list("agent_id", "n")
    )
    plan: dict[int, list[int]] = {}
    for pk in entries:
        agent = min(agents, key=lambda a: (load.get(a.pk, 0), a.pk))
        load[agent.pk] = load.get(agent.pk, 0) + 1
        plan.setdefault(agent.pk, []).append(pk)
    assigned = 0
    for agent_id, ids in plan.items():
        for start in range(0, len(ids), 500):
            assigned += CallEntry.objects.filter(
                pk__in=ids[start : start + 500], state=EntryState.QUEUED, agent__isnull=True
            ).update(agent_id=agent_id)
    return assigned


@transaction.atomic
def entries_reassign(
    *, actor: Actor, to_agent: Agent | None, entry_ids: Sequence[int] = (), from_agent: Agent | None = None
) -> int:
    """The supervisor gives entries that are not being called (given ones, or all of `from_agent`'s) to another
    agent (or to nobody); answer how many moved."""
    _require(actor, "telemarketing.supervise_calls")
    if not entry_ids and from_agent is None:
        raise ValidationFailed({"entries": [_("Choose the entries or the agent to take them from.")]})
    entries = CallEntry.objects.filter(state__in=[EntryState.QUEUED, EntryState.CALLBACK])
    if entry_ids:
        entries = entries.filter(pk__in=list(entry_ids))
    if from_agent is not None:
        entries = entries.filter(agent=from_agent)
    if to_agent is not None:
        entries = entries.filter(campaign__in=to_agent.campaigns.all())
    moved = entries.update(agent=to_agent)
    if moved:
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=to_agent or from_agent or actor,
            before={"from_agent": from_agent.pk if from_agent else None, "entries": list(entry_ids)},
            after={"to_agent": to_agent.pk if to_agent else None, "moved": moved},
        )
    return moved


# Who may be called now -----------------------------------------------------------------------------------------
def _purposes(goal: str) -> list[str]:
    return [ConsentPurpose.SURVEYS if goal == Goal.SATISFACTION else ConsentPurpose.MARKETING]


def blocked_customers_q(*, goal: str) -> Q:
    """Customers no call may reach: do not contact, deleted, phone consent refused (or missing when the policy
    asks for one), or a suppressed number. Read at every take and right before every dial."""
    blocked = (
        Q(customer__do_not_contact=True)
        | Q(customer__deleted_at__isnull=False)
        | Q(Exists(Suppression.objects.filter(channel__in=["phone", "sms"], address=OuterRef("phone"))))
    )
    consents = Consent.objects.filter(
        customer_id=OuterRef("customer_id"), channel=Channel.PHONE, purpose__in=_purposes(goal)
    )
    # One consent row per customer, channel and purpose: where the policy asks for a yes, "no granted row" also
    # covers a refusal, so one correlated subquery (on the consent's customer index) answers either way.
    if allowed_without_consent(policy=contact_policy_get(), channel=CampaignChannel.PHONE):
        blocked |= Q(Exists(consents.filter(granted=False)))
    else:
        blocked |= ~Q(Exists(consents.filter(granted=True)))
    return blocked


def call_window_q(*, now: dt.datetime) -> Q:
    """The entries whose customer's local time is inside the call window now (quiet hours and days off of the
    contact policy, in the time zone of the customer's region; the bank's zone for the rest). One computation
    per time zone, never per customer."""
    policy = contact_policy_get()
    if CampaignChannel.PHONE not in (policy.quiet_channels or []):
        return Q()
    zones = region_time_zones()
    import zoneinfo

    def is_open(zone: zoneinfo.ZoneInfo) -> bool:
        return next_allowed_moment(after=now, zone=zone, policy=policy) <= now

    closed_regions = [pk for name, ids in zones.items() if not is_open(zoneinfo.ZoneInfo(name)) for pk in ids]
    open_regions = [pk for name, ids in zones.items() if is_open(zoneinfo.ZoneInfo(name)) for pk in ids]
    if is_open(default_time_zone()):
        return ~Q(region_id__in=closed_regions) if closed_regions else Q()
    return Q(region_id__in=open_regions) if open_regions else Q(pk__in=[])


def callable_entries(*, campaign: Campaign, now: dt.datetime) -> QuerySet[CallEntry]:
    """The campaign's queued entries due now, whose customer may be called now and is held by nobody."""
    held = CallEntry.objects.filter(customer_id=OuterRef("customer_id"), state=EntryState.ACTIVE)
    return (
        CallEntry.objects.filter(campaign=campaign, state=EntryState.QUEUED, next_call_at__lte=now)
        .filter(call_window_q(now=now))
        .exclude(blocked_customers_q(goal=campaign.goal))
        .exclude(Exists(held))
    )


def dial_check(*, entry: CallEntry, goal: str, now: dt.datetime | None = None) -> str:
    """Right before a dial: "" when the customer may be called now, else why not (do not contact, consent,
    suppressed number, outside the call window)."""
    now = now or timezone.now()
    if CallEntry.objects.filter(pk=entry.pk).filter(blocked_customers_q(goal=goal)).exists():
        return "blocked"
    if not CallEntry.objects.filter(pk=entry.pk).filter(call_window_q(now=now)).exists():
        return "call_window"
    return ""


def _claim_one(candidates: QuerySet[CallEntry], *, now: dt.datetime) -> CallEntry | None:
    """Take one entry of `candidates` with a conditional UPDATE; None when there is none left."""
    token = secrets.token_hex(16)
    for _try in range(8):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                ids = list(
                    candidates.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                        :1
                    ]
                )
            else:
                ids = list(candidates.values_list("pk", flat=True)[:1])
            if not ids:
                return None
            try:
                with transaction.atomic():
                    taken = CallEntry.objects.filter(
                        pk=ids[0], state__in=[EntryState.QUEUED, EntryState.CALLBACK]
                    ).update(state=EntryState.ACTIVE, claim_token=token, lease_until=_lease(now))
            except IntegrityError:
                # The customer is held in another campaign right now (the one-active-per-customer index).
                continue
            if taken:
                return CallEntry.objects.select_related("campaign").get(pk=ids[0])
    return None


def entries_take(*, campaign: Campaign, count: int, agent: Agent | None = None) -> list[CallEntry]:
    """Take up to `count` callable entries of the campaign (for the dialer process: unassigned ones or those of
    `agent`)."""
    now = timezone.now()
    candidates = callable_entries(campaign=campaign, now=now)
    if agent is not None:
        # Two queries, not one with OR: each is read in the order of an index and stops at the first callable row.
        pools = [candidates.filter(agent=agent), candidates.filter(agent__isnull=True)]
    else:
        pools = [candidates]
    taken: list[CallEntry] = []
    for pool in pools:
        while len(taken) < count:
            entry = _claim_one(pool.order_by("next_call_at"), now=now)
            if entry is None:
                break
            taken.append(entry)
    return taken


# The agent's day ---------------------------------------------------------------------------------------------------
def agent_for(*, user: Any) -> Agent:
    """The user's agent record, created on first use."""
    agent, _created = Agent.objects.get_or_create(user=user)
    return agent


@transaction.atomic
def agent_set_state(*, agent: Agent, state: str) -> Agent:
    """Ready, paused or offline, as the agent asks; a pause asked for during a call waits for the wrap-up."""
    if state not in (AgentState.READY, AgentState.PAUSED, AgentState.OFFLINE):
        raise ValidationFailed({"state": [_("Choose ready, paused or offline.")]})
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    now = timezone.now()
    busy = agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP)
    if busy and state != AgentState.READY:
        agent.pause_after_call = True
        agent.save(update_fields=["pause_after_call", "updated_at"])
        return agent
    if state == AgentState.READY and not agent.campaigns.filter(state=State.RUNNING).exists():
        raise Conflict(_("You are not on any running telemarketing campaign."))
    agent.state, agent.state_since, agent.heartbeat_at = state, now, now
    agent.pause_after_call = False
    agent.save(update_fields=["state", "state_since", "heartbeat_at", "pause_after_call", "updated_at"])
    if state == AgentState.READY:
        for campaign_id in agent.campaigns.filter(state=State.RUNNING).values_list("pk", flat=True):
            call_list_sync(campaign_id=campaign_id)
    return agent


def agent_heartbeat(*, agent: Agent) -> None:
    """The console is alive: renew the agent's heartbeat and the lease of the entry it holds."""
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(heartbeat_at=now)
    open_entries = CallAttempt.objects.filter(agent=agent).exclude(state=AttemptState.DONE).values("entry_id")
    CallEntry.objects.filter(pk__in=open_entries, state=EntryState.ACTIVE).update(lease_until=_lease(now))


def current_attempt(*, agent: Agent) -> CallAttempt | None:
    """The agent's attempt not closed yet (shown, dialling, talking or in wrap-up)."""
    return (
        CallAttempt.objects.filter(agent=agent)
        .exclude(state=AttemptState.DONE)
        .select_related("entry", "campaign", "customer", "outcome")
        .order_by("-pk")
        .first()
    )


def next_call_take(*, agent: Agent) -> CallAttempt | None:
    """The agent's current attempt, or in preview mode the next customer to call taken from the agent's queue:
    callbacks due to this agent first, then entries assigned to the agent or to nobody. None when nothing is due
    or the agent is not ready."""
    attempt = current_attempt(agent=agent)
    if attempt is not None:
        return attempt
    if Agent.objects.values_list("state", flat=True).get(pk=agent.pk) != AgentState.READY:
        return None
    now = timezone.now()
    campaigns = list(
        Campaign.objects.filter(pk__in=agent.campaigns.values("pk"), state=State.RUNNING).filter(
            Q(call_settings__mode=DialMode.PREVIEW) | Q(call_settings__isnull=True)
        )
    )
    for campaign in campaigns:
        held = CallEntry.objects.filter(customer_id=OuterRef("customer_id"), state=EntryState.ACTIVE)
        callbacks = (
            CallEntry.objects.filter(
                campaign=campaign, state=EntryState.CALLBACK, agent=agent, next_call_at__lte=now
            )
            .exclude(blocked_customers_q(goal=campaign.goal))
            .exclude(Exists(held))
            .order_by("next_call_at")
        )
        # Assigned to the agent, then to nobody: two queries, each read in the order of the (agent, state, next
        # call) index and stopping at the first callable row (an OR of the two would sort every candidate).
        queued = callable_entries(campaign=campaign, now=now)
        mine, anyone = queued.filter(agent=agent), queued.filter(agent__isnull=True)
        for candidates in (callbacks, mine.order_by("next_call_at"), anyone.order_by("next_call_at")):
            entry = _claim_one(candidates, now=now)
            if entry is not None:
                return CallAttempt.objects.select_related("entry", "campaign", "customer").get(
                    pk=_attempt_open(entry=entry, agent=agent, state=AttemptState.PREVIEW, now=now).pk
                )
    return None


def _attempt_open(*, entry: CallEntry, agent: Agent | None, state: str, now: dt.datetime) -> CallAttempt:
    return CallAttempt.objects.create(
        entry=entry,
        campaign_id=entry.campaign_id,
        customer_id=entry.customer_id,
        agent=agent,
        state=state,
        started_at=now,
    )


def _agent_state(agent_id: int | None, state: str, now: dt.datetime) -> None:
    if agent_id is not None:
        Agent.objects.filter(pk=agent_id).update(state=state, state_since=now)


def attempt_call(*, attempt: CallAttempt, through_dialer: bool) -> CallAttempt:
    """The agent clicks "Call" on a previewed customer: the dialer process is asked to originate to the agent's
    extension, or (no dialer) the agent dials by hand and talk time starts now. A customer who may no longer be
    called (checked right now) is taken off the call and Conflict is raised."""
    with transaction.atomic():
        reason = _attempt_call(attempt=attempt, through_dialer=through_dialer)
    if reason:
        raise Conflict(_("This customer may not be called now; the next one is coming."))
    return CallAttempt.objects.get(pk=attempt.pk)


def _attempt_call(*, attempt: CallAttempt, through_dialer: bool) -> str:
    attempt = CallAttempt.objects.select_for_update().select_related("entry").get(pk=attempt.pk)
    if attempt.state != AttemptState.PREVIEW:
        raise Conflict(_("This call has already started."))
    campaign = Campaign.objects.get(pk=attempt.campaign_id)
    reason = dial_check(entry=attempt.entry, goal=campaign.goal)
    if reason:
        _attempt_blocked(attempt=attempt, reason=reason)
        return reason
    now = timezone.now()
    if through_dialer:
        attempt.state = AttemptState.REQUESTED
    else:
        attempt.state, attempt.answered_at, attempt.dial_result = (
            AttemptState.TALKING,
            now,
            DialResult.ANSWERED,
        )
    attempt.save(update_fields=["state", "answered_at", "dial_result"])
    CallEntry.objects.filter(pk=attempt.entry_id).update(attempts=attempt.entry.attempts + 1)
    _agent_state(attempt.agent_id, AgentState.ON_CALL, now)
    return ""


def _attempt_blocked(*, attempt: CallAttempt, reason: str) -> None:
    """A customer found not callable right before the dial: the attempt closes unrecorded (no call was made);
    blocked customers leave the list, those outside the call window go back to the queue."""
    now = timezone.now()
    CallAttempt.objects.filter(pk=attempt.pk).update(
        state=AttemptState.DONE, closed_at=now, detail=f"not dialled: {reason}"
    )
    if reason == "blocked":
        _entry_done(entry_id=attempt.entry_id, outcome="blocked", outbox_state=OutboxState.SKIPPED, now=now)
    else:
        CallEntry.objects.filter(pk=attempt.entry_id).update(
            state=EntryState.QUEUED,
            claim_token="",
            lease_until=None,
            next_call_at=now + dt.timedelta(minutes=15),
        )
    _agent_state(attempt.agent_id, AgentState.READY, now)


@transaction.atomic
def attempt_hang_up(*, attempt: CallAttempt, at: dt.datetime | None = None) -> CallAttempt:
    """The call ended (the agent hung up, or the dialer saw the hangup): talk time is measured, wrap-up starts."""
    attempt = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.state not in (AttemptState.TALKING, AttemptState.DIALING, AttemptState.REQUESTED):
        return attempt
    now = at or timezone.now()
    attempt.ended_at = now
    if attempt.answered_at is not None:
        attempt.talk_seconds = max(0, int((now - attempt.answered_at).total_seconds()))
    attempt.state = AttemptState.WRAP_UP
    attempt.save(update_fields=["ended_at", "talk_seconds", "state"])
    _agent_state(attempt.agent_id, AgentState.WRAP_UP, now)
    return attempt


def _cost(*, talk_seconds: int, tariff_per_minute: Decimal) -> Decimal:
    """Per-second billing of the per-minute tariff, rounded to the cent."""
    return (tariff_per_minute * Decimal(talk_seconds) / Decimal(60)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def _entry_done(*, entry_id: int, outcome: str, outbox_state: str, now: dt.datetime) -> None:
    entry = CallEntry.objects.get(pk=entry_id)
    CallEntry.objects.filter(pk=entry_id).update(
        state=EntryState.DONE, last_outcome=outcome, claim_token="", lease_until=None, done_at=now
    )
    OutboxMessage.objects.filter(pk=entry.outbox_id).update(
        state=outbox_state,
        sent_at=now if outbox_state == OutboxState.SENT else None,
        error=outcome[:500],
        claim_token="",
    )
    if not CallEntry.objects.filter(campaign_id=entry.campaign_id).exclude(state=EntryState.DONE).exists():
        transaction.on_commit(lambda: campaign_complete_if_done(campaign_id=entry.campaign_id))


@transaction.atomic
def attempt_close(
    *,
    actor: Actor,
    attempt: CallAttempt,
    outcome: OutcomeCode,
    notes: str = "",
    callback_at: dt.datetime | None = None,
    detail: str = "",
) -> CallAttempt:
    """Record the attempt's outcome: one interaction (duration, cost), then what the outcome code says: retry
    later, call back (same agent), a follow-up task, do not call (consent withdrawn everywhere), wrong number
    (suppressed), or done. The agent is ready again (or paused, if asked during the call)."""
    attempt = CallAttempt.objects.select_for_update().select_related("entry", "customer").get(pk=attempt.pk)
    if attempt.state == AttemptState.DONE:
        raise Conflict(_("This call is already recorded."))
    if outcome.campaign_id != attempt.campaign_id:
        raise ValidationFailed({"outcome": [_("Choose an outcome of this campaign.")]})
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    if outcome.action == OutcomeAction.CALLBACK:
        if callback_at is None:
            errors["callback_at"] = [_("Give the time to call back.")]
        elif callback_at <= now:
            errors["callback_at"] = [_("The time to call back must be in the future.")]
    if len(notes) > 5000:
        errors["notes"] = [_("At most %(n)d characters.") % {"n": 5000}]
    if errors:
        raise ValidationFailed(errors)
    if attempt.state in (AttemptState.TALKING, AttemptState.DIALING, AttemptState.REQUESTED):
        attempt.ended_at = now
        if attempt.answered_at is not None:
            attempt.talk_seconds = max(0, int((now - attempt.answered_at).total_seconds()))
    if attempt.state == AttemptState.PREVIEW and attempt.entry.attempts == 0:
        # An outcome without a call (e.g. the agent knows the number is wrong) still counts as an attempt.
        CallEntry.objects.filter(pk=attempt.entry_id).update(attempts=1)
        attempt.entry.attempts = 1
    if outcome.code in DialResult.values and outcome.code != DialResult.ANSWERED:
        # Dialled by hand and not reached: the agent's outcome is the call's result, and nobody talked.
        attempt.dial_result, attempt.answered_at, attempt.talk_seconds = outcome.code, None, 0
    if attempt.ended_at is not None:
        attempt.wrap_up_seconds = max(0, int((now - attempt.ended_at).total_seconds()))
    settings_row = call_settings_for(campaign_id=attempt.campaign_id)
    attempt.cost = _cost(talk_seconds=attempt.talk_seconds, tariff_per_minute=settings_row.tariff_per_minute)
    attempt.outcome, attempt.notes, attempt.closed_at = outcome, notes, now
    attempt.callback_at = callback_at if outcome.action == OutcomeAction.CALLBACK else None
    attempt.state = AttemptState.DONE
    attempt.detail = (detail or attempt.detail)[:200]
    employee = attempt.agent.user if attempt.agent_id and attempt.agent else None
    interaction = Interaction.objects.create(
        customer_id=attempt.customer_id,
        kind=InteractionKind.CALL,
        channel=InteractionChannel.PHONE,
        direction=Direction.OUTBOUND,
        occurred_at=attempt.answered_at or attempt.started_at,
        outcome=outcome.interaction_outcome,
        duration_seconds=attempt.talk_seconds,
        cost=attempt.cost,
        employee=employee,
        campaign_id=attempt.campaign_id,
        notes=notes,
        source=f"call-attempt:{attempt.pk}",
    )
    attempt.interaction_id = interaction.pk
    if outcome.action == OutcomeAction.INTERESTED:
        campaign = Campaign.objects.select_related("offer").get(pk=attempt.campaign_id)
        followup = followup_create(
            actor=actor,
            customer=attempt.customer,
            source=FollowUpSource.CALL_INTERESTED,
            source_ref=f"call-attempt:{attempt.pk}",
            subject=_("Interested on a call: %(campaign)s") % {"campaign": campaign.name},
            details=notes,
        )
        attempt.followup = followup
        # The sale itself is a lead in the sales pipeline (R7.3), for the campaign's offered product.
        lead_create(
            actor=actor,
            customer=attempt.customer,
            product=campaign.offer.product_type if campaign.offer else None,
            source=LeadSource.CALL_INTERESTED,
            campaign_id=campaign.pk,
            source_ref=f"call-attempt:{attempt.pk}",
            notes=notes,
        )
    attempt.save()
    if attempt.cost:
        from django.db.models import F

        Campaign.objects.filter(pk=attempt.campaign_id).update(cost_actual=F("cost_actual") + attempt.cost)
    _entry_after(attempt=attempt, outcome=outcome, actor=actor, now=now)
    if attempt.agent_id is not None:
        agent = Agent.objects.select_for_update().get(pk=attempt.agent_id)
        if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.READY):
            agent.state = AgentState.PAUSED if agent.pause_after_call else AgentState.READY
            agent.state_since, agent.pause_after_call = now, False
            agent.save(update_fields=["state", "state_since", "pause_after_call", "updated_at"])
    audit_update(actor=actor, instance=attempt, before=None, record=attempt.customer)
    return attempt


def _entry_after(*, attempt: CallAttempt, outcome: OutcomeCode, actor: Actor, now: dt.datetime) -> None:
    entry = CallEntry.objects.get(pk=attempt.entry_id)
    action = outcome.action
    if action == OutcomeAction.CALLBACK:
        CallEntry.objects.filter(pk=entry.pk).update(
            state=EntryState.CALLBACK,
            agent_id=attempt.agent_id,
            next_call_at=attempt.callback_at,
            claim_token="",
            lease_until=None,
            last_outcome=outcome.code,
        )
        return
    if action == OutcomeAction.RETRY and entry.attempts < outcome.retry_attempts:
        CallEntry.objects.filter(pk=entry.pk).update(
            state=EntryState.QUEUED,
            next_call_at=now + dt.timedelta(minutes=outcome.retry_minutes),
            claim_token="",
            lease_until=None,
            last_outcome=outcome.code,
        )
        return
    if action == OutcomeAction.DO_NOT_CALL:
        customer_do_not_call(actor=actor, customer=attempt.customer, source=f"call-attempt:{attempt.pk}")
    elif action == OutcomeAction.WRONG_NUMBER and entry.phone:
        Suppression.objects.get_or_create(
            channel=CampaignChannel.PHONE,
            address=entry.phone,
            defaults={"reason": Suppression.Reason.INVALID_NUMBER, "detail": f"call-attempt:{attempt.pk}"},
        )
    _entry_done(
        entry_id=entry.pk,
        outcome=outcome.code,
        outbox_state=OutboxState.SENT if outcome.contacted else OutboxState.FAILED,
        now=now,
    )


def customer_do_not_call(*, actor: Actor, customer: Customer, source: str) -> None:
    """The customer asked not to be called: phone consent withdrawn for every purpose through the customers
    service, so every campaign's queue and the dialer stop at once."""
    for purpose in ConsentPurpose.values:
        consent_set(
            actor=actor,
            customer=customer,
            channel=Channel.PHONE,
            purpose=purpose,
            granted=False,
            source=f"do not call ({source})",
        )


# Leases that ran out ---------------------------------------------------------------------------------------------
def stale_release(*, now: dt.datetime | None = None) -> int:
    """Entries whose holder stopped renewing the lease (a closed browser, a dead dialer): the open attempt is
    recorded as it stands and the customer goes back to the queue; silent agents go offline. Answer how many
    entries came back."""
    now = now or timezone.now()
    stale = list(
        CallEntry.objects.filter(state=EntryState.ACTIVE, lease_until__lt=now).values_list("pk", flat=True)
    )
    for entry_id in stale:
        _stale_entry_release(entry_id=entry_id, now=now)
    Agent.objects.exclude(state=AgentState.OFFLINE).filter(
        heartbeat_at__lt=now - dt.timedelta(seconds=LEASE_SECONDS)
    ).exclude(
        pk__in=CallAttempt.objects.exclude(state=AttemptState.DONE)
        .filter(agent__isnull=False)
        .values("agent_id")
    ).update(state=AgentState.OFFLINE, state_since=now)
    return len(stale)


@transaction.atomic
def _stale_entry_release(*, entry_id: int, now: dt.datetime) -> None:
    entry = CallEntry.objects.select_for_update().get(pk=entry_id)
    if entry.state != EntryState.ACTIVE or entry.lease_until is None or entry.lease_until >= now:
        return
    settings_row = call_settings_for(campaign_id=entry.campaign_id)
    for attempt in CallAttempt.objects.filter(entry=entry).exclude(state=AttemptState.DONE):
        ended = attempt.ended_at or entry.lease_until
        talk = attempt.talk_seconds
        if attempt.answered_at is not None and attempt.ended_at is None:
            talk = max(0, int((ended - attempt.answered_at).total_seconds()))
        cost = _cost(talk_seconds=talk, tariff_per_minute=settings_row.tariff_per_minute)
        dialled = attempt.state != AttemptState.PREVIEW
        interaction_id = None
        if dialled:
            interaction_id = Interaction.objects.create(
                customer_id=attempt.customer_id,
                kind=InteractionKind.CALL,
                channel=InteractionChannel.PHONE,
                direction=Direction.OUTBOUND,
                occurred_at=attempt.answered_at or attempt.started_at,
                outcome=_DIAL_INTERACTION_OUTCOME.get(attempt.dial_result, Outcome.OTHER),  # type: ignore[call-overload]
                duration_seconds=talk,
                cost=cost,
                employee_id=attempt.agent.user_id if attempt.agent else None,
                campaign_id=attempt.campaign_id,
                notes=attempt.notes,
                source=f"call-attempt:{attempt.pk}",
            ).pk
        CallAttempt.objects.filter(pk=attempt.pk).update(
            state=AttemptState.DONE,
            ended_at=ended if dialled else None,
            closed_at=now,
            talk_seconds=talk,
            cost=cost,
            interaction_id=interaction_id,
            detail="lease expired: the console or the dialer stopped answering",
        )
        if attempt.agent_id is not None:
            Agent.objects.filter(pk=attempt.agent_id).update(state=AgentState.OFFLINE, state_since=now)
    # Back in the queue for any agent of the campaign (its holder is offline now).
    CallEntry.objects.filter(pk=entry.pk).update(
        state=EntryState.QUEUED,
        agent=None,
        claim_token="",
        lease_until=None,
        next_call_at=entry.lease_until,
        last_outcome="lease_expired",
    )


def entries_release(*, entry_ids: Iterable[int]) -> int:
    """Give entries taken but never dialled back to the queue (the dialer found no free agent for them)."""
    return CallEntry.objects.filter(pk__in=list(entry_ids), state=EntryState.ACTIVE).update(
        state=EntryState.QUEUED, claim_token="", lease_until=None
    )


# Scripts and agents ------------------------------------------------------------------------------------------------
@transaction.atomic
def script_node_save(
    *, actor: Actor, campaign: Campaign, values: Mapping[str, Any], node: ScriptNode | None = None
) -> ScriptNode:
    """Add or change one step of a campaign's script; at least one text; one first step per campaign."""
    _require(actor, "telemarketing.manage_call_campaigns")
    before = model_snapshot(node) if node else None
    node = node or ScriptNode(campaign=campaign)
    for name, value in values.items():
        setattr(node, name, value)
    _full_clean(node, exclude=["campaign"])
    if not (node.text_fa or node.text_ru or node.text_en):
        raise ValidationFailed({"text_fa": [_("Write the text in at least one language.")]})
    if ScriptNode.objects.filter(campaign=campaign, key=node.key).exclude(pk=node.pk).exists():
        raise ValidationFailed({"key": [_("This script already has a step with this key.")]})
    node.save()
    if node.is_start:
        ScriptNode.objects.filter(campaign=campaign, is_start=True).exclude(pk=node.pk).update(is_start=False)
    audit_save(actor=actor, instance=node, before=before)
    return node


@transaction.atomic
def script_branch_save(*, actor: Actor, node: ScriptNode, values: Mapping[str, Any]) -> ScriptBranch:
    """Add an answer to a script step, leading to another step of the same campaign (or ending the script)."""
    _require(actor, "telemarketing.manage_call_campaigns")
    branch = ScriptBranch(node=node)
    for name, value in values.items():
        setattr(branch, name, value)
    _full_clean(branch, exclude=["node"])
    if not (branch.answer_fa or branch.answer_ru or branch.answer_en):
        raise ValidationFailed({"answer_fa": [_("Write the answer in at least one language.")]})
    if branch.next_node is not None and branch.next_node.campaign_id != node.campaign_id:
        raise ValidationFailed({"next_node": [_("Choose a step of this campaign's script.")]})
    branch.save()
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=branch, before=None, after=model_snapshot(branch)
    )
    return branch


AGENT_FIELDS = ("extension", "languages", "region", "skills")


@transaction.atomic
def agent_save(
    *, actor: Actor, user: Any, values: Mapping[str, Any], campaigns: Sequence[Campaign] | None = None
) -> Agent:
    """The supervisor sets an agent's extension, languages, region, skills and campaigns (audited)."""
    _require(actor, "telemarketing.supervise_calls")
    if not user.has_perm("telemarketing.work_console"):
        raise ValidationFailed({"user": [_("This user is not a contact-centre agent.")]})
    agent = agent_for(user=user)
    before = model_snapshot(agent)
    for name, value in values.items():
        if name not in AGENT_FIELDS:
            raise ValidationFailed({name: [_("is not a setting of an agent")]})
        setattr(agent, name, value)
    errors: dict[str, list[str]] = {}
    if not isinstance(agent.languages, list) or any(
        code not in ("fa", "ru", "en") for code in agent.languages
    ):
        errors["languages"] = [_("Choose languages from fa, ru and en.")]
    if not isinstance(agent.skills, list) or any(not isinstance(s, str) or not s for s in agent.skills):
        errors["skills"] = [_("Give skills as words.")]
    if errors:
        raise ValidationFailed(errors)
    _full_clean(agent, exclude=["user", "languages", "skills"])
    agent.save()
    if campaigns is not None:
        agent.campaigns.set(campaigns)
        for campaign in campaigns:
            call_list_assign(campaign_id=campaign.pk)
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=agent, before=before, after=model_snapshot(agent)
    )
    return agent


# What the dialer process reports ---------------------------------------------------------------------------------
@transaction.atomic
def entry_not_dialled(*, entry: CallEntry, reason: str) -> None:
    """The check right before a dial refused: a blocked customer leaves the list (outbox row skipped), one outside
    the call window goes back to the queue for later."""
    now = timezone.now()
    if reason == "blocked":
        _entry_done(entry_id=entry.pk, outcome="blocked", outbox_state=OutboxState.SKIPPED, now=now)
    else:
        CallEntry.objects.filter(pk=entry.pk).update(
            state=EntryState.QUEUED,
            claim_token="",
            lease_until=None,
            next_call_at=now + dt.timedelta(minutes=15),
        )


@transaction.atomic
def attempt_not_sent(*, attempt_pk: int, detail: str) -> None:
    """The dialer could not send the call (the exchange is down): no call happened, so no attempt is counted; a
    previewed call goes back to its agent, a paced one's customer back to the queue."""
    attempt = CallAttempt.objects.select_for_update().select_related("entry").get(pk=attempt_pk)
    now = timezone.now()
    if call_settings_for(campaign_id=attempt.campaign_id).mode == DialMode.PREVIEW and attempt.agent_id:
        CallAttempt.objects.filter(pk=attempt.pk).update(
            state=AttemptState.PREVIEW, detail=f"not sent: {detail}"[:200]
        )
        CallEntry.objects.filter(pk=attempt.entry_id, attempts__gt=0).update(
            attempts=attempt.entry.attempts - 1
        )
        _agent_state(attempt.agent_id, AgentState.READY, now)
        return
    CallAttempt.objects.filter(pk=attempt.pk).update(
        state=AttemptState.DONE, closed_at=now, detail=f"not sent: {detail}"[:200]
    )
    CallEntry.objects.filter(pk=attempt.entry_id).update(
        state=EntryState.QUEUED,
        claim_token="",
        lease_until=None,
        attempts=max(0, attempt.entry.attempts - 1),
    )
    _agent_state(attempt.agent_id, AgentState.READY, now)


def agent_release(*, agent_id: int) -> None:
    """An agent reserved for a call that could not be bridged is ready again."""
    Agent.objects.filter(pk=agent_id, state=AgentState.ON_CALL).update(
        state=AgentState.READY, state_since=timezone.now()
    )


@transaction.atomic
def attempt_answered(*, attempt_pk: int, at: dt.datetime) -> None:
    """The customer answered: talk time starts (talking at once when an agent is on the call)."""
    attempt = CallAttempt.objects.select_for_update().get(pk=attempt_pk)
    if attempt.state == AttemptState.DONE:
        return
    attempt.answered_at, attempt.dial_result = at, DialResult.ANSWERED
    if attempt.agent_id is not None:
        attempt.state = AttemptState.TALKING
    attempt.save(update_fields=["answered_at", "dial_result", "state"])


def _dial_code(*, campaign_id: int, code: str) -> OutcomeCode:
    """The campaign's outcome code for a dial result; the default one is added if the campaign lacks it."""
    found = OutcomeCode.objects.filter(campaign_id=campaign_id, code=code).first()
    if found is not None:
        return found
    for position, row in enumerate(DEFAULT_OUTCOMES):
        if row[0] == code:
            name, fa, ru, en, action, outcome, contacted, converted, attempts, minutes, for_agents = row
            return OutcomeCode.objects.create(
                campaign_id=campaign_id,
                code=name,
                label_fa=fa,
                label_ru=ru,
                label_en=en,
                action=action,
                interaction_outcome=outcome,
                contacted=contacted,
                converted=converted,
                retry_attempts=attempts,
                retry_minutes=minutes,
                for_agents=for_agents,
                position=position,
            )
    raise ValueError(f"no default outcome code {code!r}")


def attempt_ended(
    *, attempt_pk: int, result: str, at: dt.datetime, talk_seconds: int | None, detail: str
) -> CallAttempt:
    """The dialer reports the end of a call. After a talk with an agent, the agent's wrap-up starts (the agent
    records the outcome); otherwise the attempt is closed with the campaign's outcome code of the result (busy,
    no answer, failed, abandoned), whose retry rule decides what becomes of the customer."""
    attempt = CallAttempt.objects.get(pk=attempt_pk)
    if attempt.state == AttemptState.DONE:
        return attempt
    talked = result == DialResult.ANSWERED and attempt.agent_id is not None
    if talked:
        with transaction.atomic():
            attempt = attempt_hang_up(attempt=attempt, at=at)
            if talk_seconds is not None:
                CallAttempt.objects.filter(pk=attempt.pk).update(
                    talk_seconds=talk_seconds, detail=detail[:200]
                )
        return CallAttempt.objects.get(pk=attempt.pk)
    code = result if result in DIAL_RESULT_CODES.values() else "abandoned"
    CallAttempt.objects.filter(pk=attempt.pk).update(ended_at=at, dial_result=code)
    return attempt_close(
        actor=None,
        attempt=attempt,
        outcome=_dial_code(campaign_id=attempt.campaign_id, code=code),
        detail=detail,
    )
