"""Reads of the accounts app: a user's roles, scope and what they may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from navid.accounts.models import AuditEntry
from navid.accounts.roles import ROLES, Role, Scope, widest_scope


def user_roles(*, user: Any) -> list[Role]:
    """The roles a user holds (groups named after a role)."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_navid_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = [r for r in Role if r.value in names]
        user._navid_roles = cached
    return list(cached)


def user_scope(*, user: Any) -> Scope:
    """Which customers the user sees: all, their branch's, or their own portfolio."""
    if user.is_superuser:
        return Scope.ALL
    return widest_scope(user_roles(user=user))


def user_sees_national_id(*, user: Any) -> bool:
    """False when every role the user holds masks national IDs (contact-centre agents, ...)."""
    if user.is_superuser:
        return True
    roles = user_roles(user=user)
    return any(not ROLES[r].masks_national_id for r in roles)


def user_branch_id(*, user: Any) -> int | None:
    profile = getattr(user, "profile", None)
    return profile.branch_id if profile is not None else None


def audit_entries_for_record(*, record_model: str, record_ids: list[str]) -> QuerySet[AuditEntry]:
    """The history of a record (and of records merged into it), newest first."""
    return AuditEntry.objects.filter(record_model=record_model, record_id__in=record_ids).select_related(
        "actor"
    )
