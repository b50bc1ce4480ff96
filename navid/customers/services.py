"""Writes of the customers app: create, update, delete, restore, convert, consent, merge."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, audit_save, model_snapshot
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.models import (
    Consent,
    ContactPoint,
    ConversionEvent,
    Customer,
    ImportJob,
    PartyStatus,
    ProductHolding,
    Transaction,
)
from navid.customers.validation import ReferenceResolver, clean_customer_values, customer_search_text


def _unique_errors(exc: IntegrityError) -> ValidationFailed:
    text = str(exc).lower()
    if "national_id" in text:
        return ValidationFailed({"national_id": [_("another customer already has this national ID")]})
    if "external_id" in text:
        return ValidationFailed({"external_id": [_("another customer already has this external ID")]})
    raise exc


def _save(customer: Customer) -> None:
    values = {
        f: getattr(customer, f) for f in ("first_name", "last_name", "organisation_name", "national_id")
    }
    values |= {"phone": customer.phone, "email": customer.email}
    customer.search_text = customer_search_text(values)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise _unique_errors(exc) from exc


def _record_conversion(*, customer: Customer, actor: Actor, source: str, note: str = "") -> None:
    ConversionEvent.objects.create(
        customer=customer,
        source=source,
        actor=actor if actor is not None and actor.is_authenticated else None,
        note=note,
    )


@transaction.atomic
def customer_create(
    *, actor: Actor, values: Mapping[str, Any], source: str = ConversionEvent.Source.MANUAL
) -> Customer:
    """Create a prospect or customer from user values; a customer gets its conversion recorded."""
    clean = clean_customer_values(
        values, resolver=ReferenceResolver(), default_region=settings.NAVID_DEFAULT_PHONE_REGION
    )
    customer = Customer(**clean)
    if customer.status == PartyStatus.CUSTOMER and customer.customer_since is None:
        customer.customer_since = timezone.localdate()
    _save(customer)
    if customer.status == PartyStatus.CUSTOMER:
        _record_conversion(customer=customer, actor=actor, source=source)
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=customer, before=None, after=model_snapshot(customer)
    )
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: Actor,
    customer: Customer,
    values: Mapping[str, Any],
    source: str = ConversionEvent.Source.MANUAL,
) -> Customer:
    """Change the given fields; turning a prospect into a customer records the conversion."""
    if customer.is_deleted:
        raise Conflict(_("A customer in the trash cannot be edited; restore it first."))
    clean = clean_customer_values(
        values,
        resolver=ReferenceResolver(),
        instance=customer,
        default_region=settings.NAVID_DEFAULT_PHONE_REGION,
    )
    before = model_snapshot(customer)
    was_prospect = customer.status == PartyStatus.PROSPECT
    for name, value in clean.items():
        setattr(customer, name, value)
    converted = was_prospect and customer.status == PartyStatus.CUSTOMER
    if converted and customer.customer_since is None:
        customer.customer_since = timezone.localdate()
    _save(customer)
    if converted:
        _record_conversion(customer=customer, actor=actor, source=source)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=customer,
        before=before,
        after=model_snapshot(customer),
    )
    return customer


@transaction.atomic
def customer_delete(*, actor: Actor, customer: Customer) -> Customer:
    """Move a customer to the trash; nothing is erased and it can be restored."""
    if customer.is_deleted:
        raise Conflict(_("This customer is already in the trash."))
    before = model_snapshot(customer)
    customer.deleted_at = timezone.now()
    customer.save(update_fields=["deleted_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        instance=customer,
        before=before,
        after=model_snapshot(customer),
    )
    return customer


@transaction.atomic
def customer_restore(*, actor: Actor, customer: Customer) -> Customer:
    """Bring a customer back from the trash."""
    if not customer.is_deleted:
        raise Conflict(_("This customer is not in the trash."))
    if customer.merged_into_id is not None:
        raise Conflict(_("This record was merged into another customer and cannot be restored."))
    before = model_snapshot(customer)
    customer.deleted_at = None
    customer.save(update_fields=["deleted_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.RESTORE,
        instance=customer,
        before=before,
        after=model_snapshot(customer),
    )
    return customer


@transaction.atomic
def consent_set(
    *, actor: Actor, customer: Customer, channel: str, purpose: str, granted: bool, source: str
) -> Consent:
    """Record the customer's yes or no for one channel and purpose, with its source and time."""
    consent = Consent.objects.filter(customer=customer, channel=channel, purpose=purpose).first()
    before = model_snapshot(consent) if consent else None
    if consent is None:
        consent = Consent(customer=customer, channel=channel, purpose=purpose)
    consent.granted = granted
    consent.source = source[:100]
    consent.recorded_at = timezone.now()
    consent.save()
    audit_save(actor=actor, instance=consent, before=before, record=customer)
    return consent


# What a merge keeps from the record merged away when the surviving record has nothing.
_FILL_FIELDS = (
    "first_name",
    "last_name",
    "organisation_name",
    "birth_date",
    "phone",
    "email",
    "address",
    "city",
    "postal_code",
    "region_id",
    "branch_id",
    "relationship_manager_id",
    "preferred_channel",
    "prospect_type_id",
    "prospect_rank_id",
    "prospect_status_id",
    "industry_id",
    "external_id",
    "national_id",
)


@transaction.atomic
def customer_merge(*, actor: Actor, survivor: Customer, duplicate: Customer) -> Customer:
    """Fold `duplicate` into `survivor`: children move over, gaps are filled, and both histories stay."""
    if survivor.pk == duplicate.pk:
        raise Conflict(_("A customer cannot be merged with itself."))
    if survivor.is_deleted or duplicate.is_deleted:
        raise Conflict(_("Both customers must be live to be merged."))
    before_survivor = model_snapshot(survivor)
    before_duplicate = model_snapshot(duplicate)
    moved = {}
    # The unique values move only after the duplicate gives them up.
    taken = {"external_id": duplicate.external_id, "national_id": duplicate.national_id}
    duplicate.external_id = None
    duplicate.national_id = None
    duplicate.deleted_at = timezone.now()
    duplicate.merged_into = survivor
    duplicate.save()
    for name in _FILL_FIELDS:
        current = getattr(survivor, name)
        incoming = taken.get(name, getattr(duplicate, name))
        if current in (None, "") and incoming not in (None, ""):
            setattr(survivor, name, incoming)
            moved[name] = incoming
    survivor.do_not_contact = survivor.do_not_contact or duplicate.do_not_contact
    if duplicate.status == PartyStatus.CUSTOMER and survivor.status == PartyStatus.PROSPECT:
        survivor.status = PartyStatus.CUSTOMER
        survivor.customer_since = duplicate.customer_since
    _save(survivor)
    for model in (ContactPoint, ProductHolding, Transaction, ConversionEvent):
        model._default_manager.filter(customer=duplicate).update(customer=survivor)
    # Apps to the right (interactions, ...) cannot be imported here; their models opt in to follow a merge.
    for relation in Customer._meta.related_objects:
        related = relation.related_model
        if (
            relation.one_to_many
            and isinstance(related, type)
            and getattr(related, "follows_customer_merge", False)
        ):
            name = relation.field.name
            related._default_manager.filter(**{name: duplicate}).update(**{name: survivor})
    # Keep the more restrictive consent: a "no" on either record stays a "no".
    for consent in Consent.objects.filter(customer=duplicate):
        existing = Consent.objects.filter(
            customer=survivor, channel=consent.channel, purpose=consent.purpose
        ).first()
        if existing is None:
            consent.customer = survivor
            consent.save(update_fields=["customer"])
        else:
            if existing.granted and not consent.granted:
                existing.granted = False
                existing.source = consent.source
                existing.recorded_at = consent.recorded_at
                existing.save()
            consent.delete()
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=duplicate,
        before=before_duplicate,
        after=model_snapshot(duplicate),
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=survivor,
        before=before_survivor,
        after=model_snapshot(survivor),
    )
    return survivor


def import_job_create(
    *,
    actor: Actor,
    file_name: str,
    content: Any,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> ImportJob:
    """Store an uploaded file and create its import job (the caller runs it, in place or in the background)."""
    import uuid

    folder = settings.MEDIA_ROOT / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    safe_name = "".join(ch for ch in file_name if ch.isalnum() or ch in "._-")[-80:] or "upload"
    path = folder / f"{uuid.uuid4().hex}-{safe_name}"
    size = 0
    with path.open("wb") as out:
        for piece in content.chunks() if hasattr(content, "chunks") else [content.read()]:
            size += len(piece)
            if size > settings.NAVID_IMPORT_MAX_BYTES:
                out.close()
                path.unlink()
                raise ValidationFailed({"file": [_("The file is larger than the import limit.")]})
            out.write(piece)
    return ImportJob.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        file_name=file_name[:255],
        stored_path=str(path),
        mapping=mapping or {},
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )


def _import_job_fail(job: ImportJob, message: str) -> None:
    job.state = ImportJob.State.FAILED
    job.message = message
    job.finished_at = timezone.now()
    job.save()


def import_job_run(*, job_id: int) -> ImportJob:
    """Run an import job to its end, recording progress, counts and every rejected row on the job."""
    from navid.customers.importing import ImportFileError, import_run

    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    if job.state in {ImportJob.State.SUCCEEDED, ImportJob.State.FAILED}:
        return job  # already ran: running a task twice must not import twice
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)

    progress_file = job.progress_path
    progress_file.parent.mkdir(parents=True, exist_ok=True)

    def progress(rows: int, estimated_total: int) -> None:
        # A file, not the database: while the rows are written, the import's own transaction holds SQLite's only
        # write lock. os.replace makes each update appear whole to a reader.
        scratch = progress_file.with_suffix(".tmp")
        scratch.write_text(json.dumps({"done": rows, "total": estimated_total}))
        os.replace(scratch, progress_file)

    try:
        outcome = import_run(job=job, progress=progress)
    except ImportFileError as exc:
        _import_job_fail(job, str(exc))
        return job
    except Exception:
        # Nothing was written (the write pass is one transaction); the job must not stay "running" for ever.
        _import_job_fail(job, _("The import stopped on an unexpected error; nothing was imported."))
        raise
    finally:
        progress_file.unlink(missing_ok=True)
    job.rows_total = job.rows_done = outcome.rows_total
    job.rejected_count = outcome.rejected_rows
    job.errors = [e.as_dict() for e in outcome.errors]
    if outcome.written:
        job.created_count, job.updated_count = outcome.created, outcome.updated
        job.state = ImportJob.State.SUCCEEDED
        job.message = _("Imported: %(created)s created, %(updated)s updated, %(rejected)s rejected.") % {
            "created": outcome.created,
            "updated": outcome.updated,
            "rejected": outcome.rejected_rows,
        }
    elif job.dry_run:
        job.created_count, job.updated_count = outcome.created, outcome.updated
        job.state = ImportJob.State.SUCCEEDED
        job.message = _(
            "Dry run: %(created)s would be created, %(updated)s updated, %(rejected)s rejected. Nothing was written."
        ) % {"created": outcome.created, "updated": outcome.updated, "rejected": outcome.rejected_rows}
    else:
        job.state = ImportJob.State.FAILED
        job.message = _(
            "%(rejected)s rows were rejected, so nothing was imported. Fix them, or choose to skip invalid rows."
        ) % {"rejected": outcome.rejected_rows}
    job.finished_at = timezone.now()
    job.save()
    return job
