"""Writes of the interactions app: log one interaction, ingest a feed of them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, model_snapshot
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.models import Customer
from navid.interactions.ingest import MAX_ERRORS_KEPT, Ingester, IngestFileError, detect_format
from navid.interactions.models import Interaction, InteractionIngestJob
from navid.interactions.validation import InteractionReferences, clean_interaction_values


@transaction.atomic
def interaction_log(*, actor: Actor, customer: Customer, source: str = "ui", **fields: Any) -> Interaction:
    """Record one interaction with a customer, every field checked; audited on the customer's history."""
    if customer.is_deleted:
        raise Conflict(_("A customer in the trash cannot be edited; restore it first."))
    clean = clean_interaction_values(fields, refs=InteractionReferences())
    interaction = Interaction.objects.create(customer=customer, source=source[:40], **clean)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=interaction,
        before=None,
        after=model_snapshot(interaction),
        record=customer,
    )
    return interaction


def interaction_ingest_job_create(
    *, actor: Actor, file_name: str, content: Any, file_format: str = ""
) -> InteractionIngestJob:
    """Store an uploaded feed and create its job; a file already ingested, or not CSV or JSON lines, is refused."""
    folder = settings.MEDIA_ROOT / "interaction-ingests"
    folder.mkdir(parents=True, exist_ok=True)
    safe_name = "".join(ch for ch in file_name if ch.isalnum() or ch in "._-")[-80:] or "upload"
    path = folder / f"{uuid.uuid4().hex}-{safe_name}"
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        for piece in (
            content.chunks() if hasattr(content, "chunks") else iter(lambda: content.read(1 << 20), b"")
        ):
            size += len(piece)
            if size > settings.NAVID_IMPORT_MAX_BYTES:
                out.close()
                path.unlink()
                raise ValidationFailed({"file": [_("The file is larger than the import limit.")]})
            digest.update(piece)
            out.write(piece)
    try:
        if file_format and file_format not in InteractionIngestJob.Format.values:
            raise ValidationFailed(
                {
                    "format": [
                        _("must be one of: %(values)s")
                        % {"values": ", ".join(InteractionIngestJob.Format.values)}
                    ]
                }
            )
        try:
            fmt = file_format or detect_format(path, file_name)
        except IngestFileError as exc:
            raise ValidationFailed({"file": [str(exc)]}) from exc
        earlier = (
            InteractionIngestJob.objects.filter(checksum=digest.hexdigest())
            .exclude(state=InteractionIngestJob.State.FAILED)
            .first()
        )
        if earlier is not None:
            raise ValidationFailed(
                {
                    "file": [
                        _("This file was already ingested (job %(id)s); it was not read again.")
                        % {"id": earlier.pk}
                    ]
                }
            )
    except ValidationFailed:
        path.unlink()
        raise
    return InteractionIngestJob.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        file_name=file_name[:255],
        stored_path=str(path),
        checksum=digest.hexdigest(),
        format=fmt,
    )


def _job_fail(job_id: int, message: str) -> None:
    InteractionIngestJob.objects.filter(pk=job_id).update(
        state=InteractionIngestJob.State.FAILED, message=message, finished_at=timezone.now()
    )


def interaction_ingest_job_run(*, job_id: int) -> InteractionIngestJob:
    """Run an ingest job, or resume it after its last committed batch; write accepted lines, report the rest."""
    job = InteractionIngestJob.objects.select_related("actor").get(pk=job_id)
    if job.state in {InteractionIngestJob.State.SUCCEEDED, InteractionIngestJob.State.FAILED}:
        return job  # already ran: running a task twice must not ingest twice
    InteractionIngestJob.objects.filter(pk=job.pk).update(state=InteractionIngestJob.State.RUNNING)
    checkpoint = job.rows_done
    try:
        ingester = Ingester(job)
        for batch in ingester.batches(after_line=checkpoint):
            with transaction.atomic():
                # The lock and the checkpoint make a second runner of the same job stop instead of writing twice.
                current = InteractionIngestJob.objects.select_for_update().get(pk=job.pk)
                if current.state != InteractionIngestJob.State.RUNNING or current.rows_done != checkpoint:
                    return current
                ingester.writer.write(batch.interactions)
                current.rows_done = checkpoint = batch.last_line
                fraction = ingester.read_fraction()
                current.rows_total = max(batch.last_line, int(batch.last_line / fraction) if fraction else 0)
                current.accepted_count += len(batch.interactions)
                current.rejected_count += batch.rejected
                fields = ["rows_done", "rows_total", "accepted_count", "rejected_count", "updated_at"]
                room = MAX_ERRORS_KEPT - len(current.errors)
                if batch.errors and room > 0:
                    current.errors = current.errors + [e.as_dict() for e in batch.errors[:room]]
                    fields.append("errors")
                current.save(update_fields=fields)
    except IngestFileError as exc:
        job.refresh_from_db()
        message = str(exc)
        if job.accepted_count:
            message += " " + _("The %(count)s interactions from the lines before it were kept.") % {
                "count": job.accepted_count
            }
        _job_fail(job.pk, message)
        job.refresh_from_db()
        return job
    except Exception:
        job.refresh_from_db()
        _job_fail(
            job.pk,
            _("The ingest stopped on an unexpected error; %(count)s interactions were written before it.")
            % {"count": job.accepted_count},
        )
        raise
    with transaction.atomic():
        job = InteractionIngestJob.objects.select_for_update().get(pk=job.pk)
        if job.state != InteractionIngestJob.State.RUNNING:
            return job
        job.rows_total = job.accepted_count + job.rejected_count
        job.rows_done = max(job.rows_done, checkpoint)
        if job.rows_total and not job.accepted_count:
            job.state = InteractionIngestJob.State.FAILED
            job.message = _("No line was accepted: %(rejected)s lines were rejected.") % {
                "rejected": job.rejected_count
            }
        else:
            job.state = InteractionIngestJob.State.SUCCEEDED
            job.message = _("Ingested: %(accepted)s interactions accepted, %(rejected)s lines rejected.") % {
                "accepted": job.accepted_count,
                "rejected": job.rejected_count,
            }
        job.finished_at = timezone.now()
        job.save()
        audit_record(
            actor=job.actor,
            action=AuditAction.IMPORT,
            instance=job,
            before=None,
            after={"file": job.file_name, "accepted": job.accepted_count, "rejected": job.rejected_count},
        )
    return job
