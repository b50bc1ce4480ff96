"""Writes of sales: follow-up tasks created by any app and worked until resolved (R7.4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, model_snapshot
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.models import Customer
from navid.sales.models import FollowUp, FollowUpSource, FollowUpStatus

# When nobody says otherwise, a follow-up is due this long after it is created.
DEFAULT_DUE = dt.timedelta(days=3)
SUBJECT_MAX = 200
DETAILS_MAX = 10_000
OUTCOME_MAX = 10_000


def followup_create(
    *,
    actor: Actor,
    customer: Customer,
    source: str,
    subject: str,
    details: str = "",
    source_ref: str = "",
    due_at: dt.datetime | None = None,
    assignee: Any = None,
) -> FollowUp:
    """Open a follow-up for the customer's relationship manager (or `assignee`); once per (source, source_ref)."""
    errors: dict[str, list[str]] = {}
    if source not in FollowUpSource.values:
        errors["source"] = [_("must be one of: %(values)s") % {"values": ", ".join(FollowUpSource.values)}]
    subject = subject.strip()
    if not subject:
        errors["subject"] = [_("This field is required.")]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    if len(details) > DETAILS_MAX:
        errors["details"] = [_("At most %(n)d characters.") % {"n": DETAILS_MAX}]
    if len(source_ref) > 80:
        errors["source_ref"] = [_("At most %(n)d characters.") % {"n": 80}]
    if errors:
        raise ValidationFailed(errors)
    if source_ref:
        existing = FollowUp.objects.filter(source=source, source_ref=source_ref).first()
        if existing is not None:
            return existing
    if customer.is_deleted:
        raise Conflict(_("A customer in the trash cannot be edited; restore it first."))
    followup = FollowUp(
        customer=customer,
        assignee=assignee if assignee is not None else customer.relationship_manager,
        source=source,
        source_ref=source_ref,
        subject=subject,
        details=details,
        due_at=due_at or timezone.now() + DEFAULT_DUE,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    try:
        with transaction.atomic():
            followup.save()
    except IntegrityError:
        # Another process created the same (source, source_ref) between the check and the insert.
        return FollowUp.objects.get(source=source, source_ref=source_ref)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=followup,
        before=None,
        after=model_snapshot(followup),
        record=customer,
    )
    return followup


# Which status may follow which: a resolved follow-up is closed for good.
_NEXT = {
    FollowUpStatus.OPEN: {FollowUpStatus.CONTACTED, FollowUpStatus.RESOLVED},
    FollowUpStatus.CONTACTED: {FollowUpStatus.RESOLVED},
    FollowUpStatus.RESOLVED: set(),
}


@transaction.atomic
def followup_progress(*, actor: Actor, followup: FollowUp, status: str, outcome: str = "") -> FollowUp:
    """Move a follow-up to contacted or resolved; resolving needs an outcome."""
    locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
    current = FollowUpStatus(locked.status)
    if status not in FollowUpStatus.values:
        raise ValidationFailed(
            {"status": [_("must be one of: %(values)s") % {"values": ", ".join(FollowUpStatus.values)}]}
        )
    target = FollowUpStatus(status)
    if target not in _NEXT[current]:
        raise Conflict(
            _("A follow-up that is %(current)s cannot become %(target)s.")
            % {"current": current.label, "target": target.label}
        )
    outcome = outcome.strip()
    if len(outcome) > OUTCOME_MAX:
        raise ValidationFailed({"outcome": [_("At most %(n)d characters.") % {"n": OUTCOME_MAX}]})
    if target == FollowUpStatus.RESOLVED and not outcome:
        raise ValidationFailed({"outcome": [_("Say how it was resolved.")]})
    before = model_snapshot(locked)
    now = timezone.now()
    locked.status = target
    if outcome:
        locked.outcome = outcome
    if target == FollowUpStatus.CONTACTED or locked.contacted_at is None:
        locked.contacted_at = now
    if target == FollowUpStatus.RESOLVED:
        locked.resolved_at = now
    locked.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=locked,
        before=before,
        after=model_snapshot(locked),
        record=locked.customer,
    )
    return locked


@transaction.atomic
def followup_assign(*, actor: Actor, followup: FollowUp, assignee: Any) -> FollowUp:
    """Give a follow-up to another employee."""
    locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
    if locked.status == FollowUpStatus.RESOLVED:
        raise Conflict(_("A resolved follow-up cannot be reassigned."))
    before = model_snapshot(locked)
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=locked,
        before=before,
        after=model_snapshot(locked),
        record=locked.customer,
    )
    return locked
