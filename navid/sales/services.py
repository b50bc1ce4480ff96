"""Writes of sales: follow-ups (R7.4), leads and their distribution (R7.3), applications (R7.2), kiosk devices."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction, Branch
from navid.accounts.services import Actor, audit_record, audit_update, model_snapshot
from navid.campaigns.models import Campaign, Group
from navid.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from navid.customers.models import ConversionEvent, Customer, PartyStatus, ProductType
from navid.customers.services import customer_update
from navid.offers.eligibility import customer_facts, rules_failures, rules_parse
from navid.offers.models import Offer, ProductRule
from navid.offers.nbo import active_offers
from navid.sales import pipeline, workflow
from navid.sales.distribution import Assigner, LeadFacts
from navid.sales.models import (
    OPEN_STAGES,
    Application,
    ApplicationChannel,
    ApplicationDocument,
    ApplicationStatus,
    DistributionRule,
    FollowUp,
    FollowUpSource,
    FollowUpStatus,
    KioskDevice,
    Lead,
    LeadSource,
    LeadStage,
    LeadStageSpan,
    ProductRequirement,
)
from navid.sales.requirements import (
    NO_REQUIREMENTS,
    IncomingDocument,
    Requirements,
    documents_check,
    requirements_parse,
    values_clean,
)

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
    audit_update(actor=actor, instance=locked, before=before, record=locked.customer)
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
    audit_update(actor=actor, instance=locked, before=before, record=locked.customer)
    return locked


# --- leads (R7.3, R7.4) ---

NOTES_MAX = 10_000
SOURCE_REF_MAX = 80


def _lead_facts(customer: Customer, product_type_id: int | None) -> LeadFacts:
    return LeadFacts(
        region_id=customer.region_id,
        branch_id=customer.branch_id,
        product_type_id=product_type_id,
        language=customer.language,
    )


def _offer_value(product: ProductType | None) -> Decimal:
    if product is None:
        return Decimal("0")
    offer = active_offers(as_of=timezone.localdate()).get(product.pk)
    return offer.value_to_bank if offer is not None else Decimal("0")


def lead_create(
    *,
    actor: Actor,
    customer: Customer,
    product: ProductType | None = None,
    source: str,
    campaign_id: int | None = None,
    source_ref: str = "",
    notes: str = "",
    value: Decimal | None = None,
    application: Application | None = None,
) -> Lead:
    """Open a lead and give it to a manager by the distribution rules; once per (source, source_ref).

    Other apps call this (telemarketing for an interested call outcome). The value is the product's active offer's
    value to the bank unless given.
    """
    errors: dict[str, list[str]] = {}
    if source not in LeadSource.values:
        errors["source"] = [_("must be one of: %(values)s") % {"values": ", ".join(LeadSource.values)}]
    if len(source_ref) > SOURCE_REF_MAX:
        errors["source_ref"] = [_("At most %(n)d characters.") % {"n": SOURCE_REF_MAX}]
    if len(notes) > NOTES_MAX:
        errors["notes"] = [_("At most %(n)d characters.") % {"n": NOTES_MAX}]
    if value is not None and value < 0:
        errors["value"] = [_("Must not be negative.")]
    if campaign_id is not None and not Campaign.objects.filter(pk=campaign_id).exists():
        errors["campaign_id"] = [_("No campaign has this id.")]
    if errors:
        raise ValidationFailed(errors)
    if source_ref:
        existing = Lead.objects.filter(source=source, source_ref=source_ref).first()
        if existing is not None:
            return existing
    if customer.is_deleted:
        raise Conflict(_("A customer in the trash cannot be edited; restore it first."))
    try:
        with transaction.atomic():
            return _lead_insert(
                actor=actor,
                customer=customer,
                product=product,
                source=source,
                campaign_id=campaign_id,
                source_ref=source_ref,
                notes=notes,
                value=value if value is not None else _offer_value(product),
                application=application,
            )
    except IntegrityError:
        if not source_ref:
            raise
        # Another process created the same (source, source_ref) between the check and the insert.
        return Lead.objects.get(source=source, source_ref=source_ref)


def _lead_insert(
    *,
    actor: Actor,
    customer: Customer,
    product: ProductType | None,
    source: str,
    campaign_id: int | None,
    source_ref: str,
    notes: str,
    value: Decimal,
    application: Application | None,
) -> Lead:
    now = timezone.now()
    assigner = Assigner()
    assignment = assigner.assign(_lead_facts(customer, product.pk if product is not None else None))
    lead = Lead.objects.create(
        customer=customer,
        product_type=product,
        source=source,
        source_ref=source_ref,
        campaign_id=campaign_id,
        application=application,
        stage=LeadStage.NEW,
        stage_entered_at=now,
        due_at=pipeline.due_after(LeadStage.NEW, now),
        assignee_id=assignment.user_id,
        assigned_at=now if assignment.user_id is not None else None,
        assigned_by_rule=assignment.rule,
        value=value,
        notes=notes.strip(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    assigner.save()
    LeadStageSpan.objects.create(lead=lead, stage=LeadStage.NEW, entered_at=now)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=lead,
        before=None,
        after=model_snapshot(lead),
        record=customer,
    )
    return lead


def _close_span(lead: Lead, now: dt.datetime) -> None:
    span = LeadStageSpan.objects.filter(lead=lead, stage=lead.stage, left_at__isnull=True).first()
    if span is not None:
        span.left_at = now
        span.seconds = max(0, int((now - span.entered_at).total_seconds()))
        span.save(update_fields=["left_at", "seconds"])


def _advance(*, lead: Lead, target: LeadStage, actor: Actor, now: dt.datetime) -> None:
    """Close the current stage's span, pass through skipped stages (zero-length spans), enter `target`."""
    _close_span(lead, now)
    by = actor if actor is not None and actor.is_authenticated else None
    for passed in pipeline.stages_between(lead.stage, target):
        LeadStageSpan.objects.create(
            lead=lead, stage=passed, entered_at=now, left_at=now, seconds=0, actor=by
        )
    left_new = lead.stage == LeadStage.NEW
    lead.stage = target
    lead.stage_entered_at = now
    lead.due_at = pipeline.due_after(target, now)
    if target in (LeadStage.WON, LeadStage.LOST):
        lead.closed_at = now
        LeadStageSpan.objects.create(
            lead=lead, stage=target, entered_at=now, left_at=now, seconds=0, actor=by
        )
    else:
        LeadStageSpan.objects.create(lead=lead, stage=target, entered_at=now, actor=by)
    if left_new and lead.first_contact_at is None:
        lead.first_contact_at = now
        if lead.assigned_at is not None:
            lead.response_seconds = max(0, int((now - lead.assigned_at).total_seconds()))


@transaction.atomic
def lead_move(*, actor: Actor, lead: Lead, stage: str, note: str = "", lost_reason: str = "") -> Lead:
    """Move a lead forward (stages may be skipped) or to lost; a lost lead needs its reason."""
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if stage not in LeadStage.values:
        raise ValidationFailed(
            {"stage": [_("must be one of: %(values)s") % {"values": ", ".join(LeadStage.values)}]}
        )
    target = LeadStage(stage)
    if target not in pipeline.next_stages(locked.stage):
        raise Conflict(
            _("A lead that is “%(current)s” cannot move to “%(target)s”.")
            % {"current": locked.get_stage_display(), "target": target.label}
        )
    lost_reason = lost_reason.strip()
    if target == LeadStage.LOST and not lost_reason:
        raise ValidationFailed({"lost_reason": [_("Say why the lead was lost.")]})
    if len(lost_reason) > 300:
        raise ValidationFailed({"lost_reason": [_("At most %(n)d characters.") % {"n": 300}]})
    if len(note) > NOTES_MAX:
        raise ValidationFailed({"note": [_("At most %(n)d characters.") % {"n": NOTES_MAX}]})
    before = model_snapshot(locked)
    _advance(lead=locked, target=target, actor=actor, now=timezone.now())
    if lost_reason:
        locked.lost_reason = lost_reason
    if note.strip():
        locked.notes = f"{locked.notes}\n{note.strip()}".strip()
    locked.save()
    audit_update(actor=actor, instance=locked, before=before, record=locked.customer)
    return locked


@transaction.atomic
def lead_reassign(*, actor: Actor, lead: Lead, assignee: Any) -> Lead:
    """A supervisor gives an open lead to another active employee; the response time counts from now."""
    if actor is None or not actor.has_perm("sales.reassign_lead"):
        raise PermissionDenied("sales.reassign_lead")
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if not locked.is_open:
        raise Conflict(_("A closed lead cannot be reassigned."))
    if assignee is None or not assignee.is_active:
        raise ValidationFailed({"assignee": [_("Choose an active employee.")]})
    if assignee.pk == locked.assignee_id:
        return locked
    before = model_snapshot(locked)
    locked.assignee = assignee
    locked.assigned_at = timezone.now()
    locked.assigned_by_rule = None
    locked.save(update_fields=["assignee", "assigned_at", "assigned_by_rule", "updated_at"])
    audit_update(actor=actor, instance=locked, before=before, record=locked.customer)
    return locked


@transaction.atomic
def leads_assign_unassigned(*, lead_ids: list[int] | None = None) -> int:
    """Give every open unassigned lead (or those of `lead_ids`) a manager, in bulk; the count assigned."""
    qs = Lead.objects.filter(assignee__isnull=True, stage__in=OPEN_STAGES)
    if lead_ids is not None:
        qs = qs.filter(pk__in=lead_ids)
    rows = list(
        qs.order_by("pk").values_list(
            "pk", "customer__region_id", "customer__branch_id", "product_type_id", "customer__language"
        )
    )
    if not rows:
        return 0
    assigner = Assigner()
    now = timezone.now()
    changed = []
    for pk, region_id, branch_id, product_id, language in rows:
        assignment = assigner.assign(LeadFacts(region_id, branch_id, product_id, language))
        if assignment.user_id is not None:
            changed.append(
                Lead(
                    pk=pk,
                    assignee_id=assignment.user_id,
                    assigned_at=now,
                    assigned_by_rule_id=assignment.rule.pk if assignment.rule else None,
                )
            )
    Lead.objects.bulk_update(changed, ["assignee", "assigned_at", "assigned_by_rule"], batch_size=1000)
    assigner.save()
    return len(changed)


# The lead of a campaign response: "campaign:<campaign>:customer:<customer>".
_RESPONSE_LEADS = """
INSERT INTO sales_lead (
    created_at, updated_at, customer_id, product_type_id, source, source_ref, campaign_id, stage,
    stage_entered_at, due_at, value, notes, lost_reason
)
SELECT %(now)s, %(now)s, o.customer_id, COALESCE(c.conversion_product_type_id, f.product_type_id),
       %(source)s, 'campaign:' || CAST(o.campaign_id AS TEXT) || ':customer:' || CAST(o.customer_id AS TEXT),
       o.campaign_id, %(stage)s, %(now)s, %(due)s, COALESCE(f.value_to_bank, 0), '', ''
FROM campaigns_campaignoutcome o
JOIN campaigns_campaign c ON c.id = o.campaign_id
JOIN customers_customer cu ON cu.id = o.customer_id
LEFT JOIN offers_offer f ON f.id = c.offer_id
WHERE o."group" = %(treatment)s AND o.responded_at IS NOT NULL AND o.converted_on IS NULL
  AND cu.deleted_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM sales_lead l
      WHERE l.source = %(source)s
        AND l.source_ref = 'campaign:' || CAST(o.campaign_id AS TEXT) || ':customer:' || CAST(o.customer_id AS TEXT)
  )
ON CONFLICT DO NOTHING
"""

_NEW_SPANS = """
INSERT INTO sales_leadstagespan (lead_id, stage, entered_at)
SELECT l.id, %(stage)s, l.stage_entered_at FROM sales_lead l
WHERE l.source = %(source)s AND l.created_at = %(now)s
  AND NOT EXISTS (SELECT 1 FROM sales_leadstagespan s WHERE s.lead_id = l.id AND s.stage = %(stage)s)
"""


@transaction.atomic
def campaign_responses_to_leads() -> int:
    """Turn every treatment customer who responded to a campaign and has not converted into a lead, once.

    One INSERT ... SELECT writes the leads (the unique (source, source_ref) makes a second run a no-op), one more
    their first stage span, and the new leads are assigned in bulk. Returns the number of leads created.
    """
    now = timezone.now()
    params: dict[str, Any] = {
        "now": now,
        "source": LeadSource.CAMPAIGN_RESPONSE.value,
        "stage": LeadStage.NEW.value,
        "due": pipeline.due_after(LeadStage.NEW, now),
        "treatment": Group.TREATMENT.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RESPONSE_LEADS, params)
        created = max(cursor.rowcount, 0)
        if created:
            cursor.execute(_NEW_SPANS, params)
    if created:
        new_ids = list(
            Lead.objects.filter(source=LeadSource.CAMPAIGN_RESPONSE, created_at=now).values_list(
                "pk", flat=True
            )
        )
        leads_assign_unassigned(lead_ids=new_ids)
    return created


# --- applications (R7.2) ---

IDEMPOTENCY_KEY_MAX = 100
DECISION_NOTE_MAX = 2_000


def product_requirements(*, product: ProductType) -> Requirements:
    """The fields and documents an application for `product` needs (none when the bank set none)."""
    requirement = ProductRequirement.objects.filter(product_type=product).first()
    if requirement is None:
        return NO_REQUIREMENTS
    return requirements_parse(fields=requirement.fields, documents=requirement.documents)


@transaction.atomic
def product_requirements_set(
    *, actor: Actor, product: ProductType, fields: Any, documents: Any
) -> ProductRequirement:
    """Replace the fields and documents an application for `product` needs; ValidationFailed names each bad row."""
    parsed = requirements_parse(fields=fields, documents=documents)
    requirement, created = ProductRequirement.objects.get_or_create(product_type=product)
    before = None if created else model_snapshot(requirement)
    requirement.fields = [f.model_dump() for f in parsed.fields]
    requirement.documents = [d.model_dump() for d in parsed.documents]
    requirement.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        instance=requirement,
        before=before,
        after=model_snapshot(requirement),
    )
    return requirement


def eligibility_failures(*, customer: Customer, product: ProductType) -> list[str]:
    """The product's eligibility rules (offers) the customer breaks today, in words; empty when eligible."""
    rule = ProductRule.objects.filter(product_type=product).first()
    if rule is None:
        return []
    today = timezone.localdate()
    rules = rules_parse(rule.rules)
    return rules_failures(rules, facts=customer_facts(customer=customer, as_of=today), as_of=today)


def _existing_application(
    *, customer: Customer, product: ProductType, idempotency_key: str | None, day: dt.date
) -> Application | None:
    if idempotency_key:
        found = Application.objects.filter(idempotency_key=idempotency_key).first()
        if found is not None:
            if (found.customer_id, found.product_type_id) != (customer.pk, product.pk):
                raise Conflict(
                    _("This idempotency key was already used for another application (number %(id)s).")
                    % {"id": found.pk}
                )
            return found
    return Application.objects.filter(customer=customer, product_type=product, submitted_on=day).first()


def application_submit(
    *,
    actor: Actor,
    customer: Customer,
    product: ProductType,
    channel: str,
    values: dict[str, Any] | None = None,
    documents: list[IncomingDocument] | None = None,
    idempotency_key: str | None = None,
    kiosk: KioskDevice | None = None,
) -> tuple[Application, bool]:
    """Submit an application: (application, True) when created, (the existing one, False) when sent twice.

    The same idempotency key, or the same customer, product and day, returns the existing application. An
    ineligible customer, missing or bad fields, and missing or bad documents are refused with every reason and
    nothing is stored. A new application is routed to a manager as a lead.
    """
    values = values or {}
    documents = documents or []
    idempotency_key = (idempotency_key or "").strip() or None
    errors: dict[str, list[str]] = {}
    if channel not in ApplicationChannel.values:
        errors["channel"] = [
            _("must be one of: %(values)s") % {"values": ", ".join(ApplicationChannel.values)}
        ]
    if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        errors["idempotency_key"] = [_("At most %(n)d characters.") % {"n": IDEMPOTENCY_KEY_MAX}]
    if errors:
        raise ValidationFailed(errors)
    today = timezone.localdate()
    existing = _existing_application(
        customer=customer, product=product, idempotency_key=idempotency_key, day=today
    )
    if existing is not None:
        return existing, False
    if customer.is_deleted:
        raise Conflict(_("A customer in the trash cannot be edited; restore it first."))
    failures = eligibility_failures(customer=customer, product=product)
    if failures:
        raise ValidationFailed(
            {
                "product": [
                    _("The customer is not eligible for %(product)s: %(reasons)s.")
                    % {"product": product, "reasons": "; ".join(failures)}
                ]
            }
        )
    requirements = product_requirements(product=product)
    clean, errors = values_clean(requirements, values)
    accepted, document_errors = documents_check(requirements, documents)
    errors |= document_errors
    if errors:
        raise ValidationFailed(errors)
    stored: list[ApplicationDocument] = []
    try:
        with transaction.atomic():
            application = _application_insert(
                actor=actor,
                customer=customer,
                product=product,
                channel=channel,
                values=clean,
                idempotency_key=idempotency_key,
                kiosk=kiosk,
                day=today,
            )
            stored = _documents_store(actor=actor, application=application, accepted=accepted)
            _application_lead(actor=actor, application=application)
    except IntegrityError:
        _files_delete(stored)
        # The same application was submitted at the same moment by another request: answer with that one.
        existing = _existing_application(
            customer=customer, product=product, idempotency_key=idempotency_key, day=today
        )
        if existing is None:
            raise
        return existing, False
    except BaseException:
        _files_delete(stored)
        raise
    return application, True


def _application_lead(*, actor: Actor, application: Application) -> Lead:
    """The customer's open lead for the product (oldest first) now carries the application; without one, a new
    lead is opened and routed."""
    lead = (
        Lead.objects.select_for_update()
        .filter(
            customer=application.customer,
            product_type=application.product_type,
            stage__in=OPEN_STAGES,
            application__isnull=True,
        )
        .order_by("created_at", "pk")
        .first()
    )
    if lead is None:
        return lead_create(
            actor=actor,
            customer=application.customer,
            product=application.product_type,
            source=LeadSource.APPLICATION,
            source_ref=f"application:{application.pk}",
            application=application,
            value=application.offer.value_to_bank if application.offer else Decimal("0"),
        )
    before = model_snapshot(lead)
    lead.application = application
    lead.save(update_fields=["application", "updated_at"])
    audit_update(actor=actor, instance=lead, before=before, record=application.customer)
    return lead


def _application_insert(
    *,
    actor: Actor,
    customer: Customer,
    product: ProductType,
    channel: str,
    values: dict[str, Any],
    idempotency_key: str | None,
    kiosk: KioskDevice | None,
    day: dt.date,
) -> Application:
    offer: Offer | None = active_offers(as_of=day).get(product.pk)
    application = Application.objects.create(
        customer=customer,
        product_type=product,
        offer=offer,
        channel=channel,
        values=values,
        idempotency_key=idempotency_key,
        submitted_on=day,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        kiosk=kiosk,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=application,
        before=None,
        after=model_snapshot(application),
        record=customer,
    )
    return application


def _documents_store(
    *, actor: Actor, application: Application, accepted: list[tuple[IncomingDocument, str]]
) -> list[ApplicationDocument]:
    stored = []
    for incoming, content_type in accepted:
        document = ApplicationDocument(
            application=application,
            kind=incoming.kind,
            original_name=incoming.name[:255],
            content_type=content_type,
            size=len(incoming.content),
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        document.file.save(incoming.name, ContentFile(incoming.content), save=False)
        stored.append(document)
        document.save()
    return stored


def _files_delete(documents: list[ApplicationDocument]) -> None:
    for document in documents:
        if document.file:
            document.file.storage.delete(document.file.name)


def application_documents_add(
    *, actor: Actor, application: Application, documents: list[IncomingDocument]
) -> list[ApplicationDocument]:
    """Add documents to an application waiting for its decision; each checked, all or none stored."""
    application = Application.objects.select_related("customer", "product_type").get(pk=application.pk)
    if application.status not in (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW):
        raise Conflict(_("Documents can be added only before the decision."))
    if not documents:
        raise ValidationFailed({"documents": [_("Choose at least one file.")]})
    requirements = product_requirements(product=application.product_type)
    accepted, errors = documents_check(
        requirements, documents, present=frozenset(spec.kind for spec in requirements.documents)
    )
    if errors:
        raise ValidationFailed(errors)
    stored: list[ApplicationDocument] = []
    try:
        with transaction.atomic():
            stored = _documents_store(actor=actor, application=application, accepted=accepted)
            for document in stored:
                audit_record(
                    actor=actor,
                    action=AuditAction.CREATE,
                    instance=document,
                    before=None,
                    after=model_snapshot(document) | {"file": document.file.name},
                    record=application.customer,
                )
    except BaseException:
        _files_delete(stored)
        raise
    return stored


@transaction.atomic
def application_act(*, actor: Actor, application: Application, action: str, note: str = "") -> Application:
    """Review, approve, reject or withdraw (workflow.ACTIONS). Approval converts a prospect into a customer and
    wins the application's lead; rejection and withdrawal lose it."""
    locked = Application.objects.select_for_update().select_related("customer").get(pk=application.pk)
    spec = workflow.action_check(action=action, application=locked, actor=actor)
    note = note.strip()
    if spec.needs_note and not note:
        raise ValidationFailed({"note": [_("Say why.")]})
    if len(note) > DECISION_NOTE_MAX:
        raise ValidationFailed({"note": [_("At most %(n)d characters.") % {"n": DECISION_NOTE_MAX}]})
    before = model_snapshot(locked)
    now = timezone.now()
    locked.status = spec.target
    if note:
        locked.decision_note = note
    if spec.target in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN):
        locked.decided_at = now
    locked.save()
    audit_update(actor=actor, instance=locked, before=before, record=locked.customer)
    if spec.target == ApplicationStatus.APPROVED and locked.customer.status == PartyStatus.PROSPECT:
        customer_update(
            actor=actor,
            customer=locked.customer,
            values={"status": PartyStatus.CUSTOMER.value},
            source=ConversionEvent.Source.APPLICATION,
        )
    if spec.target in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN):
        target = LeadStage.WON if spec.target == ApplicationStatus.APPROVED else LeadStage.LOST
        reason = "" if target == LeadStage.WON else f"{locked.get_status_display()}: {note}".strip(": ")
        for lead in Lead.objects.select_for_update().filter(application=locked, stage__in=OPEN_STAGES):
            lead_before = model_snapshot(lead)
            _advance(lead=lead, target=target, actor=actor, now=now)
            lead.lost_reason = reason[:300]
            lead.save()
            audit_update(actor=actor, instance=lead, before=lead_before, record=locked.customer)
    return locked


# --- kiosk devices ---


def _kiosk_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def kiosk_device_create(*, actor: Actor, name: str, branch: Branch | None = None) -> tuple[KioskDevice, str]:
    """Register a kiosk; the key is returned once (to type into the tablet) and stored only as a digest."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed({"name": [_("Give the kiosk a name of at most 100 characters.")]})
    prefix = secrets.token_hex(4)
    key = f"kiosk_{prefix}_{secrets.token_urlsafe(24)}"
    device = KioskDevice.objects.create(name=name, branch=branch, prefix=prefix, digest=_kiosk_digest(key))
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=device, before=None, after=model_snapshot(device)
    )
    return device, key


def kiosk_device_authenticate(*, key: str) -> KioskDevice | None:
    """The active kiosk whose key this is, or None."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "kiosk":
        return None
    device = KioskDevice.objects.filter(prefix=parts[1], is_active=True).first()
    if device is None or not secrets.compare_digest(device.digest, _kiosk_digest(key)):
        return None
    KioskDevice.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    return device


# After this many identifications in a row that match nobody, a kiosk refuses to identify for KIOSK_LOCK_FOR.
KIOSK_MAX_FAILURES = 5
KIOSK_LOCK_FOR = dt.timedelta(minutes=10)


def kiosk_identification_locked(*, device: KioskDevice) -> bool:
    """True while the kiosk is locked out after too many failed identifications."""
    locked_until = KioskDevice.objects.filter(pk=device.pk).values_list("locked_until", flat=True).first()
    return locked_until is not None and locked_until > timezone.now()


@transaction.atomic
def kiosk_identification_record(*, device: KioskDevice, matched: bool) -> None:
    """Count an identification that matched nobody (the fifth in a row locks the kiosk); a match resets the count."""
    locked = KioskDevice.objects.select_for_update().get(pk=device.pk)
    if matched:
        locked.failed_identifications = 0
    else:
        locked.failed_identifications += 1
        if locked.failed_identifications >= KIOSK_MAX_FAILURES:
            locked.failed_identifications = 0
            locked.locked_until = timezone.now() + KIOSK_LOCK_FOR
    locked.save(update_fields=["failed_identifications", "locked_until", "updated_at"])


def kiosk_customer_find(*, national_id: str, phone: str) -> Customer:
    """The customer with this national ID and phone (both must match); NotFound otherwise, without saying which."""
    from navid.core.national_id import InvalidNationalId, classify_national_id
    from navid.customers.validation import ReferenceResolver, clean_field

    try:
        national, _kind = classify_national_id(national_id, organisation=False)
        number = clean_field("phone", phone.strip(), ReferenceResolver(), settings.NAVID_DEFAULT_PHONE_REGION)
    except (InvalidNationalId, ValueError) as exc:
        raise NotFound(str(exc)) from exc
    customer = Customer.objects.filter(national_id=national, phone=number, deleted_at__isnull=True).first()
    if customer is None:
        raise NotFound(_("No customer has this national ID and phone."))
    return customer


@transaction.atomic
def distribution_rule_save(*, actor: Actor, rule: DistributionRule, managers: list[Any]) -> DistributionRule:
    """Create or change a distribution rule and its managers; a fixed rule needs exactly one manager."""
    errors: dict[str, list[str]] = {}
    if not rule.name.strip():
        errors["name"] = [_("This field is required.")]
    if not managers:
        errors["managers"] = [_("Choose at least one manager.")]
    elif rule.strategy == "fixed" and len(managers) != 1:
        errors["managers"] = [_("A fixed rule has exactly one manager.")]
    if errors:
        raise ValidationFailed(errors)
    created = rule.pk is None
    before = None if created else model_snapshot(DistributionRule.objects.get(pk=rule.pk))
    rule.save()
    rule.managers.set(managers)
    after = model_snapshot(rule) | {"managers": sorted(m.pk for m in managers)}
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        instance=rule,
        before=before,
        after=after,
    )
    return rule


@transaction.atomic
def distribution_rule_delete(*, actor: Actor, rule: DistributionRule) -> None:
    """Remove a distribution rule; leads it assigned keep their manager."""
    before = model_snapshot(rule)
    audit_record(actor=actor, action=AuditAction.DELETE, instance=rule, before=before, after=None)
    rule.delete()
