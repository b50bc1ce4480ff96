"""Writes of segments: create, change, archive, static lists, snapshots."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, model_snapshot
from navid.core.errors import Conflict, ValidationFailed
from navid.core.text import digits_only
from navid.customers.models import Customer
from navid.segments import rules
from navid.segments.compiler import Context, compile_definition
from navid.segments.models import Segment, Snapshot, SnapshotMember, StaticMember

MAX_STATIC_MEMBERS = 1_000_000


def _checked_definition(data: Any, *, segment_id: int | None) -> dict[str, Any]:
    """The tree validated and compiled once (unknown codes, self-reference), in its stored JSON form."""
    definition = rules.definition_parse(data)
    compile_definition(definition, context=Context(stack=(segment_id,) if segment_id else ()))
    return definition.model_dump(mode="json")


def _name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationFailed({"name": [_("A segment needs a name.")]})
    if len(name) > 200:
        raise ValidationFailed({"name": [_("is longer than %(limit)s characters") % {"limit": 200}]})
    return name


@transaction.atomic
def segment_create(
    *,
    actor: Actor,
    name: str,
    definition: Any = None,
    kind: str = Segment.Kind.DYNAMIC,
    description: str = "",
) -> Segment:
    """Save a new segment: a rule tree (dynamic) or an empty list to upload members into (static)."""
    if kind not in Segment.Kind.values:
        raise ValidationFailed({"kind": [_("must be dynamic or static")]})
    stored = _checked_definition(definition, segment_id=None) if kind == Segment.Kind.DYNAMIC else {}
    segment = Segment.objects.create(
        name=_name(name),
        description=description or "",
        kind=kind,
        definition=stored,
        owner=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=segment, before=None, after=model_snapshot(segment)
    )
    return segment


@transaction.atomic
def segment_update(
    *,
    actor: Actor,
    segment: Segment,
    name: str | None = None,
    definition: Any = None,
    description: str | None = None,
) -> Segment:
    """Change a segment's name, description or rules (snapshots already taken keep the rules they used)."""
    before = model_snapshot(segment)
    if name is not None:
        segment.name = _name(name)
    if description is not None:
        segment.description = description
    if definition is not None:
        if segment.kind != Segment.Kind.DYNAMIC:
            raise ValidationFailed({"definition": [_("A static segment has no rules; upload its members.")]})
        segment.definition = _checked_definition(definition, segment_id=segment.pk)
    segment.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=segment, before=before, after=model_snapshot(segment)
    )
    return segment


@transaction.atomic
def segment_archive(*, actor: Actor, segment: Segment) -> Segment:
    """Hide a segment from lists; its snapshots and the campaigns that used them keep working."""
    if segment.is_archived:
        raise Conflict(_("This segment is already archived."))
    used_by = [
        other.name
        for other in Segment.objects.filter(is_archived=False, kind=Segment.Kind.DYNAMIC).exclude(
            pk=segment.pk
        )
        if segment.pk in rules.referenced_segments(rules.definition_parse(other.definition).root)
    ]
    if used_by:
        raise Conflict(_("Other segments use this one: %(names)s") % {"names": ", ".join(used_by)})
    before = model_snapshot(segment)
    segment.is_archived = True
    segment.save(update_fields=["is_archived", "updated_at"])
    audit_record(
        actor=actor, action=AuditAction.DELETE, instance=segment, before=before, after=model_snapshot(segment)
    )
    return segment


@transaction.atomic
def static_members_set(*, actor: Actor, segment: Segment, identifiers: list[str]) -> int:
    """Replace the members of a static segment by a list of customer numbers, national IDs or Navid ids.

    All or nothing: if any line names no customer, nothing changes and every such line is reported.
    """
    if segment.kind != Segment.Kind.STATIC:
        raise ValidationFailed({"identifiers": [_("Only a static segment has an uploaded list.")]})
    lines = [
        (number, str(raw).strip()) for number, raw in enumerate(identifiers, start=1) if str(raw).strip()
    ]
    if len(lines) > MAX_STATIC_MEMBERS:
        raise ValidationFailed({"identifiers": [_("At most %(n)s lines.") % {"n": MAX_STATIC_MEMBERS}]})
    values = {value for _, value in lines}
    digits = {digits_only(v) for v in values if digits_only(v)}
    live = Customer.objects.filter(deleted_at__isnull=True)
    found: dict[str, int] = {}
    for external_id, pk in live.filter(external_id__in=values).values_list("external_id", "pk"):
        found[str(external_id)] = pk
    for national_id, pk in live.filter(national_id__in=digits).values_list("national_id", "pk"):
        found.setdefault(str(national_id), pk)
    numeric = {int(v) for v in values if v.isdigit() and len(v) < 18}
    for pk in live.filter(pk__in=numeric).values_list("pk", flat=True):
        found.setdefault(str(pk), pk)
    members: set[int] = set()
    errors: list[str] = []
    for number, value in lines:
        match = found.get(value) or found.get(digits_only(value))
        if match is None:
            errors.append(_("line %(line)s: no customer “%(value)s”") % {"line": number, "value": value[:50]})
        else:
            members.add(match)
    if errors:
        raise ValidationFailed({"identifiers": errors[:100]})
    StaticMember.objects.filter(segment=segment).delete()
    StaticMember.objects.bulk_create(
        [StaticMember(segment=segment, customer_id=pk) for pk in sorted(members)], batch_size=5000
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=segment,
        before=None,
        after={"static_members": len(members)},
    )
    return len(members)


@transaction.atomic
def snapshot_request(*, actor: Actor, segment: Segment) -> Snapshot:
    """Ask for the segment's membership to be frozen now; a worker takes it (see tasks.take_snapshot)."""
    from navid.segments.tasks import take_snapshot

    snapshot = Snapshot.objects.create(
        segment=segment,
        definition=segment.definition,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=snapshot, before=None, after=model_snapshot(snapshot)
    )
    transaction.on_commit(lambda: take_snapshot.delay(snapshot.pk))
    return snapshot


def snapshot_take(*, snapshot_id: int) -> Snapshot:
    """Write the members of a requested snapshot with one INSERT ... SELECT; running it twice does nothing."""
    from navid.segments.selectors import segment_members

    with transaction.atomic():
        snapshot = (
            Snapshot.objects.select_for_update(of=("self",))
            .select_related("segment", "requested_by")
            .get(pk=snapshot_id)
        )
        if snapshot.state in {Snapshot.State.DONE, Snapshot.State.FAILED}:
            return snapshot
        taken_at = timezone.now()
        segment = snapshot.segment
        # The rules as they were when the snapshot was asked for, evaluated at the moment it is taken.
        frozen = Segment(pk=segment.pk, kind=segment.kind, definition=snapshot.definition)
        try:
            members = segment_members(segment=frozen, user=snapshot.requested_by, now=taken_at)
        except ValidationFailed as exc:
            snapshot.state, snapshot.message = Snapshot.State.FAILED, str(exc)
            snapshot.save(update_fields=["state", "message"])
            return snapshot
        rows = members.order_by().annotate(snapshot_ref=Value(snapshot.pk)).values_list("snapshot_ref", "pk")
        select_sql, params = rows.query.sql_with_params()
        table = connection.ops.quote_name(SnapshotMember._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} (snapshot_id, customer_id) {select_sql}", params)
            count = cursor.rowcount
        snapshot.state, snapshot.taken_at, snapshot.member_count = Snapshot.State.DONE, taken_at, count
        snapshot.save(update_fields=["state", "taken_at", "member_count"])
    return snapshot
