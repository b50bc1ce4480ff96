"""Writes of campaigns: the plan (create, update) and every step of the approval workflow (R4.1, R4.2, R9).

Each step is an action: `workflow.action_check` checks the permission (PermissionDenied, 403) and the state
(Conflict, 409), the row changes, the audit log gets the values before and after, and work for the workers is
scheduled with `transaction.on_commit` so that nothing runs for a change that was rolled back.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from celery import current_app
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, audit_save, model_snapshot
from navid.campaigns.models import (
    Brand,
    Campaign,
    CampaignChannel,
    ChannelPlan,
    Goal,
    MessageTemplate,
    OutboxMessage,
    OutboxState,
    State,
)
from navid.campaigns.personalise import FIELDS, template_fields_unknown
from navid.campaigns.plans import (
    LANGUAGES,
    CampaignPlan,
    channel_error_key,
    template_error_key,
)
from navid.campaigns.selectors import campaign_plan
from navid.campaigns.workflow import action_check
from navid.core.errors import PermissionDenied, ValidationFailed
from navid.customers.models import ProductType
from navid.offers.models import Offer
from navid.segments.models import Segment

LAUNCH_TASK = "navid.campaigns.tasks.launch_campaign"
MAX_WAVES = 12
MAX_CONTROL_PERCENT = Decimal("50")
MAX_RESPONSE_WINDOW_DAYS = 365
SEED_LIMIT = 2**31


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _check_plan(plan: CampaignPlan, errors: _Errors) -> dict[str, Any]:
    """Every rule of a plan; returns the rows it names (owner, segments, offer, brand, product)."""
    found: dict[str, Any] = {}
    name = (plan.name or "").strip()
    if not name:
        errors.add("name", _("A campaign needs a name."))
    elif len(name) > 200:
        errors.add("name", _("is longer than %(limit)s characters") % {"limit": 200})
    found["name"] = name
    if plan.goal not in Goal.values:
        errors.add("goal", _("Choose one of: %(choices)s.") % {"choices": ", ".join(Goal.values)})

    user_model = get_user_model()
    owner = user_model.objects.filter(pk=plan.owner_id, is_active=True).first() if plan.owner_id else None
    if owner is None:
        errors.add("owner", _("Choose an active user as the owner."))
    elif not owner.has_perm("campaigns.change_campaign"):
        errors.add("owner", _("The owner must be allowed to plan campaigns."))
    found["owner"] = owner

    targets = list(Segment.objects.filter(pk__in=set(plan.target_segment_ids), is_archived=False))
    missing = set(plan.target_segment_ids) - {s.pk for s in targets}
    if not plan.target_segment_ids:
        errors.add("target_segments", _("Choose at least one target segment."))
    elif missing:
        errors.add(
            "target_segments",
            _("No segment in use with id %(ids)s.") % {"ids": ", ".join(str(i) for i in sorted(missing))},
        )
    exclusions = list(Segment.objects.filter(pk__in=set(plan.exclusion_segment_ids), is_archived=False))
    missing = set(plan.exclusion_segment_ids) - {s.pk for s in exclusions}
    if missing:
        errors.add(
            "exclusion_segments",
            _("No segment in use with id %(ids)s.") % {"ids": ", ".join(str(i) for i in sorted(missing))},
        )
    both = {s.pk for s in targets} & {s.pk for s in exclusions}
    if both:
        names = ", ".join(sorted(s.name for s in targets if s.pk in both))
        errors.add(
            "exclusion_segments", _("A segment cannot be both targeted and excluded: %(n)s.") % {"n": names}
        )
    found["targets"], found["exclusions"] = targets, exclusions

    offer = None
    if plan.offer_id is not None:
        offer = Offer.objects.filter(pk=plan.offer_id).first()
        if offer is None:
            errors.add("offer", _("No offer with id %(id)s.") % {"id": plan.offer_id})
        elif not offer.is_active:
            errors.add("offer", _("The offer “%(name)s” is no longer active.") % {"name": offer.name})
    found["offer"] = offer
    brand = None
    if plan.brand_id is not None:
        brand = Brand.objects.filter(pk=plan.brand_id).first()
        if brand is None:
            errors.add("brand", _("No brand layout with id %(id)s.") % {"id": plan.brand_id})
    found["brand"] = brand
    product = None
    if plan.conversion_product_type_id is not None:
        product = ProductType.objects.filter(pk=plan.conversion_product_type_id).first()
        if product is None:
            errors.add(
                "conversion_product_type",
                _("No product with id %(id)s.") % {"id": plan.conversion_product_type_id},
            )
    elif offer is None and plan.goal in (Goal.ACQUISITION, Goal.CROSS_SELL):
        errors.add(
            "conversion_product_type",
            _("Say which product counts as a conversion, or choose an offer (its product counts)."),
        )
    found["product"] = product

    if plan.starts_at is None:
        errors.add("starts_at", _("Give the start."))
    if plan.ends_at is None:
        errors.add("ends_at", _("Give the end."))
    if plan.starts_at and plan.ends_at and plan.ends_at <= plan.starts_at:
        errors.add("ends_at", _("The end must be after the start."))
    if not 1 <= plan.waves_max <= MAX_WAVES:
        errors.add("waves_max", _("Between 1 and %(n)s waves.") % {"n": MAX_WAVES})
    if plan.waves_max > 1 and plan.repeat_every_days < 1:
        errors.add("repeat_every_days", _("Repeated waves need at least one day between them."))
    if (
        plan.starts_at
        and plan.ends_at
        and plan.waves_max > 1
        and plan.repeat_every_days >= 1
        and plan.starts_at + dt.timedelta(days=plan.repeat_every_days * (plan.waves_max - 1)) > plan.ends_at
    ):
        errors.add(
            "waves_max",
            _("%(waves)s waves every %(days)s days do not fit between the start and the end.")
            % {"waves": plan.waves_max, "days": plan.repeat_every_days},
        )
    if not 1 <= plan.response_window_days <= MAX_RESPONSE_WINDOW_DAYS:
        errors.add("response_window_days", _("Between 1 and %(n)s days.") % {"n": MAX_RESPONSE_WINDOW_DAYS})
    if not Decimal("0") <= plan.control_percent <= MAX_CONTROL_PERCENT:
        errors.add("control_percent", _("Between 0 and %(n)s per cent.") % {"n": MAX_CONTROL_PERCENT})
    if plan.control_seed is not None and not 0 <= plan.control_seed < SEED_LIMIT:
        errors.add("control_seed", _("A whole number from 0 to %(n)s.") % {"n": SEED_LIMIT - 1})
    if plan.budget_planned < 0:
        errors.add("budget_planned", _("The budget cannot be negative."))

    chosen: set[str] = set()
    if not plan.channels:
        errors.add("channels", _("Choose at least one channel."))
    for plan_line in plan.channels:
        if plan_line.channel not in CampaignChannel.values:
            errors.add("channels", _("Unknown channel “%(c)s”.") % {"c": plan_line.channel})
            continue
        if plan_line.channel in chosen:
            errors.add("channels", _("The channel “%(c)s” is listed twice.") % {"c": plan_line.channel})
        chosen.add(plan_line.channel)
        for part in ("unit_cost", "planned_cost"):
            if getattr(plan_line, part) < 0:
                errors.add(channel_error_key(plan_line.channel, part), _("A cost cannot be negative."))
        if plan_line.priority < 1:
            errors.add(channel_error_key(plan_line.channel, "priority"), _("1 or more; 1 is tried first."))
        if plan_line.rate_per_second < 1:
            errors.add(channel_error_key(plan_line.channel, "rate_per_second"), _("At least 1 a second."))
    planned_total = sum((c.planned_cost for c in plan.channels), Decimal("0"))
    if plan.budget_planned >= 0 and planned_total > plan.budget_planned:
        errors.add(
            "budget_planned",
            _("The channels' planned costs add up to %(total)s, more than the budget.")
            % {"total": planned_total},
        )

    written: set[tuple[str, str]] = set()
    for template in plan.templates:
        if template.channel not in chosen:
            errors.add(
                template_error_key(template.channel, template.language, "body"),
                _("This channel is not chosen for the campaign."),
            )
            continue
        if template.language not in LANGUAGES:
            errors.add("templates", _("Unknown language “%(l)s”.") % {"l": template.language})
            continue
        if (template.channel, template.language) in written:
            errors.add("templates", _("Two messages for the same channel and language."))
        written.add((template.channel, template.language))
        if not template.body.strip():
            errors.add(
                template_error_key(template.channel, template.language, "body"), _("The text is empty.")
            )
        if template.channel == CampaignChannel.EMAIL and not template.subject.strip():
            errors.add(
                template_error_key(template.channel, template.language, "subject"),
                _("An email needs a subject."),
            )
        for part in ("subject", "body"):
            unknown = template_fields_unknown(getattr(template, part))
            if unknown:
                errors.add(
                    template_error_key(template.channel, template.language, part),
                    _("Unknown fields: %(unknown)s. Known fields: %(known)s.")
                    % {
                        "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                        "known": ", ".join(f"{{{name}}}" for name in FIELDS),
                    },
                )
    for channel in sorted(chosen):
        if not any(c == channel for c, _lang in written):
            errors.add(
                template_error_key(channel, "any", "body"),
                _("Write the message of “%(c)s” in at least one language.")
                % {"c": CampaignChannel(channel).label},
            )
    return found


def _apply(campaign: Campaign, plan: CampaignPlan, found: dict[str, Any]) -> None:
    """Write a checked plan onto the campaign and replace its channels and templates."""
    campaign.name = found["name"]
    campaign.goal = plan.goal
    campaign.description = plan.description or ""
    campaign.owner = found["owner"]
    campaign.offer = found["offer"]
    campaign.brand = found["brand"]
    campaign.conversion_product_type = found["product"]
    campaign.starts_at = plan.starts_at
    campaign.ends_at = plan.ends_at
    campaign.waves_max = plan.waves_max
    campaign.repeat_every_days = plan.repeat_every_days
    campaign.response_window_days = plan.response_window_days
    campaign.control_percent = plan.control_percent
    if plan.control_seed is not None:
        campaign.control_seed = plan.control_seed
    elif campaign.control_seed is None:
        # Drawn once and recorded: the same seed draws the same control group again.
        campaign.control_seed = secrets.randbelow(SEED_LIMIT)
    campaign.budget_planned = plan.budget_planned
    campaign.save()
    campaign.target_segments.set(found["targets"])
    campaign.exclusion_segments.set(found["exclusions"])
    campaign.channel_plans.all().delete()
    ChannelPlan.objects.bulk_create(
        ChannelPlan(
            campaign=campaign,
            channel=c.channel,
            priority=c.priority,
            unit_cost=c.unit_cost,
            planned_cost=c.planned_cost,
            rate_per_second=c.rate_per_second,
        )
        for c in plan.channels
    )
    campaign.templates.all().delete()
    MessageTemplate.objects.bulk_create(
        MessageTemplate(
            campaign=campaign, channel=t.channel, language=t.language, subject=t.subject.strip(), body=t.body
        )
        for t in plan.templates
    )


def _plan_snapshot(campaign: Campaign) -> dict[str, Any]:
    """The row plus its segments, channels and templates, for the audit log."""
    data = model_snapshot(campaign)
    data["target_segments"] = sorted(campaign.target_segments.values_list("pk", flat=True))
    data["exclusion_segments"] = sorted(campaign.exclusion_segments.values_list("pk", flat=True))
    data["channels"] = [
        [c.channel, c.priority, str(c.unit_cost), str(c.planned_cost), c.rate_per_second]
        for c in campaign.channel_plans.order_by("priority", "channel")
    ]
    data["templates"] = [
        [t.channel, t.language, t.subject, t.body] for t in campaign.templates.order_by("channel", "language")
    ]
    return data


@transaction.atomic
def campaign_create(*, actor: Actor, plan: CampaignPlan) -> Campaign:
    """Save a new campaign plan as a draft; the owner is the actor unless the plan names another."""
    if actor is None or not actor.is_authenticated or not actor.has_perm("campaigns.add_campaign"):
        raise PermissionDenied("campaigns.add_campaign")
    if plan.owner_id is None:
        plan = CampaignPlan(**{**plan.__dict__, "owner_id": actor.pk})
    errors = _Errors()
    found = _check_plan(plan, errors)
    errors.raise_if_any()
    campaign = Campaign(state=State.DRAFT)
    _apply(campaign, plan, found)
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=campaign, before=None, after=_plan_snapshot(campaign)
    )
    return campaign


@transaction.atomic
def campaign_update(*, actor: Actor, campaign: Campaign, plan: CampaignPlan) -> Campaign:
    """Change the plan of a draft or rejected campaign (a rejected one becomes a draft again)."""
    row = _locked(campaign)
    action_check(action="update", campaign=row, actor=actor)
    if plan.owner_id is None:
        plan = CampaignPlan(**{**plan.__dict__, "owner_id": row.owner_id})
    errors = _Errors()
    found = _check_plan(plan, errors)
    errors.raise_if_any()
    before = _plan_snapshot(row)
    row.state = State.DRAFT
    row.review_note = row.review_note if before["state"] == State.REJECTED else ""
    _apply(row, plan, found)
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=row, before=before, after=_plan_snapshot(row)
    )
    return _refresh(campaign, row)


def _locked(campaign: Campaign) -> Campaign:
    """The campaign read again under a row lock, so that two actions on it run one after the other."""
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _refresh(target: Campaign, source: Campaign) -> Campaign:
    """Copy the locked row's values onto the caller's object, so the caller sees the new state."""
    for f in source._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    return target


def _transition(
    *, action: str, campaign: Campaign, actor: Actor, changes: dict[str, Any] | None = None
) -> tuple[Campaign, Campaign]:
    """Check and apply one workflow step with its audit entry; returns (the locked row, the caller's object)."""
    row = _locked(campaign)
    spec = action_check(action=action, campaign=row, actor=actor)
    before = model_snapshot(row)
    assert spec.target is not None
    row.state = spec.target
    for name, value in (changes or {}).items():
        setattr(row, name, value)
    row.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=row, before=before, after=model_snapshot(row)
    )
    return row, _refresh(campaign, row)


def _launch_after_commit(campaign_id: int) -> None:
    """Wake the workers once the state change is committed (the task is idempotent)."""
    transaction.on_commit(lambda: current_app.send_task(LAUNCH_TASK, args=[campaign_id]))


def _plan_ready(campaign: Campaign) -> None:
    """The saved plan still holds together (a segment or offer may have changed since it was written)."""
    errors = _Errors()
    _check_plan(campaign_plan(campaign=campaign), errors)
    errors.raise_if_any()


@transaction.atomic
def campaign_submit(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Send a draft (or a rejected campaign, changed) to be approved by someone else."""
    row = _locked(campaign)
    action_check(action="submit", campaign=row, actor=actor)
    _plan_ready(row)
    _row, campaign = _transition(
        action="submit",
        campaign=campaign,
        actor=actor,
        changes={
            "submitted_by": actor,
            "submitted_at": timezone.now(),
            "approved_by": None,
            "approved_at": None,
        },
    )
    return campaign


@transaction.atomic
def campaign_approve(*, campaign: Campaign, actor: Actor, note: str = "") -> Campaign:
    """Approve a submitted campaign: only a holder of the approve permission who is not its maker."""
    _row, campaign = _transition(
        action="approve",
        campaign=campaign,
        actor=actor,
        changes={"approved_by": actor, "approved_at": timezone.now(), "review_note": note.strip()},
    )
    return campaign


@transaction.atomic
def campaign_reject(*, campaign: Campaign, actor: Actor, note: str) -> Campaign:
    """Send a submitted campaign back to its maker with the reason, which is required."""
    if not (note or "").strip():
        raise ValidationFailed({"note": [_("Say why the campaign is rejected.")]})
    _row, campaign = _transition(
        action="reject", campaign=campaign, actor=actor, changes={"review_note": note.strip()}
    )
    return campaign


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Put an approved campaign in the calendar: it starts by itself at its start time."""
    row = _locked(campaign)
    action_check(action="schedule", campaign=row, actor=actor)
    if row.starts_at is None:
        raise ValidationFailed({"starts_at": [_("Give the start before scheduling.")]})
    _row, campaign = _transition(action="schedule", campaign=campaign, actor=actor)
    return campaign


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Start an approved or scheduled campaign now: the workers write its contact list and send."""
    row, campaign = _transition(action="launch", campaign=campaign, actor=actor)
    _launch_after_commit(row.pk)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Hold a running campaign: workers stop claiming its messages; nothing is lost."""
    _row, campaign = _transition(action="pause", campaign=campaign, actor=actor)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Continue a paused campaign from where it stopped."""
    row, campaign = _transition(action="resume", campaign=campaign, actor=actor)
    _launch_after_commit(row.pk)
    return campaign


@transaction.atomic
def campaign_stop(*, campaign: Campaign, actor: Actor) -> Campaign:
    """End a campaign for good: the messages not yet claimed are cancelled; results stay."""
    row, campaign = _transition(
        action="stop", campaign=campaign, actor=actor, changes={"finished_at": timezone.now()}
    )
    OutboxMessage.objects.filter(campaign_id=row.pk, state=OutboxState.PENDING).update(
        state=OutboxState.CANCELLED, error=_("campaign stopped")
    )
    return campaign


@transaction.atomic
def campaign_start_due(*, campaign_id: int, now: dt.datetime | None = None) -> bool:
    """Start a scheduled campaign whose start time has come (called by the scheduler, not by a person).

    Returns whether it started; a second call for the same campaign does nothing.
    """
    now = now or timezone.now()
    row = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if row is None or row.state != State.SCHEDULED or row.starts_at is None or row.starts_at > now:
        return False
    before = model_snapshot(row)
    row.state = State.RUNNING
    row.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=None, action=AuditAction.UPDATE, instance=row, before=before, after=model_snapshot(row)
    )
    _launch_after_commit(row.pk)
    return True


@transaction.atomic
def campaign_complete(*, campaign_id: int) -> bool:
    """Mark a running campaign completed once all its waves are sent (called by the workers).

    Returns whether the state changed; a second call does nothing.
    """
    row = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if row is None or row.state != State.RUNNING:
        return False
    before = model_snapshot(row)
    row.state = State.COMPLETED
    row.finished_at = timezone.now()
    row.save(update_fields=["state", "finished_at", "updated_at"])
    audit_record(
        actor=None, action=AuditAction.UPDATE, instance=row, before=before, after=model_snapshot(row)
    )
    return True


@transaction.atomic
def brand_save(*, actor: Actor, brand: Brand | None, values: dict[str, Any]) -> Brand:
    """Create or change a brand layout (sender, header, footer, colours) from values a form has checked."""
    perm = "campaigns.change_brand" if brand else "campaigns.add_brand"
    if actor is None or not actor.has_perm(perm):
        raise PermissionDenied(perm)
    before = model_snapshot(brand) if brand else None
    brand = brand or Brand()
    for name, value in values.items():
        setattr(brand, name, value)
    brand.save()
    audit_save(actor=actor, instance=brand, before=before)
    return brand
