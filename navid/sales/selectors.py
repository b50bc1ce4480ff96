"""Reads of sales: the follow-ups a user may see, their filters and the report of how they are worked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from navid.customers.selectors import customers_visible_to
from navid.sales.models import FollowUp, FollowUpStatus


def followups_visible_to(*, user: Any) -> QuerySet[FollowUp]:
    """Follow-ups of the customers the user may see (R9 scope), and every one assigned to the user."""
    visible = customers_visible_to(user=user).values("pk")
    return FollowUp.objects.filter(Q(customer__in=visible) | Q(assignee=user)).select_related(
        "customer", "assignee"
    )


def followup_list(
    *, user: Any, status: str = "", mine: bool = False, overdue: bool = False, source: str = ""
) -> QuerySet[FollowUp]:
    """The follow-ups a user sees, filtered; open ones first by due date."""
    qs = followups_visible_to(user=user)
    if status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(assignee=user)
    if overdue:
        qs = qs.exclude(status=FollowUpStatus.RESOLVED).filter(due_at__lt=timezone.now())
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("due_at", "pk")


@dataclass(frozen=True)
class FollowUpReportRow:
    source: str
    total: int
    open: int
    contacted: int
    resolved: int
    overdue: int
    resolved_on_time: int


def followup_report(*, user: Any) -> list[FollowUpReportRow]:
    """Per source: how many follow-ups, in which status, how many overdue and how many resolved by their due date."""
    now = timezone.now()
    rows = (
        followups_visible_to(user=user)
        .order_by()
        .values("source")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(status=FollowUpStatus.OPEN)),
            contacted=Count("pk", filter=Q(status=FollowUpStatus.CONTACTED)),
            resolved=Count("pk", filter=Q(status=FollowUpStatus.RESOLVED)),
            overdue=Count("pk", filter=~Q(status=FollowUpStatus.RESOLVED) & Q(due_at__lt=now)),
            resolved_on_time=Count(
                "pk", filter=Q(status=FollowUpStatus.RESOLVED, resolved_at__lte=F("due_at"))
            ),
        )
        .order_by("source")
    )
    return [FollowUpReportRow(**row) for row in rows]
