"""Writes of the accounts app: roles, API keys, the audit log."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import secrets
import uuid
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.utils import timezone

from navid.accounts.models import ApiKey, AuditAction, AuditEntry
from navid.accounts.roles import ROLES, Role

# The user behind a change (anonymous or None for the system); typed loosely to accept any user model.
Actor = Any


@transaction.atomic
def roles_sync() -> list[Group]:
    """Create or update one group per role with exactly the permissions the role holds."""
    groups = []
    for role, spec in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms = []
        for dotted in spec.permissions:
            app_label, codename = dotted.split(".", 1)
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
        groups.append(group)
    return groups


def user_role_add(*, user: Any, role: Role) -> None:
    """Give a user a role (a group of the same name)."""
    user.groups.add(Group.objects.get(name=role.value))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, user: Any, name: str = "") -> str:
    """Create an API key for `user` and return it in full; it cannot be read again afterwards."""
    prefix = secrets.token_hex(4)
    key = f"nv_{prefix}_{secrets.token_urlsafe(32)}"
    ApiKey.objects.create(user=user, prefix=prefix, digest=_digest(key), name=name)
    return key


def api_key_authenticate(*, key: str) -> Any | None:
    """The active user a key belongs to, or None; records when the key was last used."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "nv":
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if api_key is None or not secrets.compare_digest(api_key.digest, _digest(key)):
        return None
    if not api_key.user.is_active:
        return None
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key.user


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def model_snapshot(instance: models.Model) -> dict[str, Any]:
    """The concrete field values of a row, JSON-ready, foreign keys as their ids."""
    return {
        f.attname: _jsonable(getattr(instance, f.attname))
        for f in instance._meta.concrete_fields
        if f.attname not in {"updated_at"}
    }


def snapshot_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    """Fields whose values differ, as {field: [before, after]}."""
    before = before or {}
    after = after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    instance: models.Model,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    record: models.Model | None = None,
) -> AuditEntry:
    """Write one audit entry for a change to `instance` (part of the top-level `record`)."""
    record = record or instance
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        record_model=record._meta.label_lower,
        record_id=str(record.pk),
        changes=snapshot_diff(before, after),
    )


def audit_save(
    *, actor: Actor, instance: models.Model, before: dict[str, Any] | None, record: models.Model | None = None
) -> AuditEntry:
    """Write the audit entry of a save: a creation when there was no `before` snapshot, else an update."""
    return audit_record(
        actor=actor,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        instance=instance,
        before=before,
        after=model_snapshot(instance),
        record=record,
    )


def audit_update(
    *, actor: Actor, instance: models.Model, before: dict[str, Any] | None, record: models.Model | None = None
) -> AuditEntry:
    """Write the audit entry of an update: `before` is the snapshot taken before the change, the instance is now."""
    return audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=instance,
        before=before,
        after=model_snapshot(instance),
        record=record,
    )
