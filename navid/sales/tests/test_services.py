"""Follow-ups: creation for the relationship manager, once per source, their progress and its rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.sales import services
from navid.sales.models import FollowUp, FollowUpStatus
from navid.sales.tests.factories import NOW, FollowUpFactory

pytestmark = pytest.mark.django_db


def test_a_follow_up_goes_to_the_customers_relationship_manager(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    customer = CustomerFactory(relationship_manager=manager)
    before = timezone.now()
    followup = services.followup_create(
        actor=None,
        customer=customer,
        source="survey_detractor",
        subject="NPS 3",
        source_ref="survey-response:7",
    )
    assert followup.assignee == manager
    assert followup.status == FollowUpStatus.OPEN
    assert before + dt.timedelta(days=3) <= followup.due_at <= timezone.now() + dt.timedelta(days=3)
    entry = AuditEntry.objects.get(model="sales.followup")
    assert (entry.action, entry.record_model, entry.record_id) == (
        "create",
        "customers.customer",
        str(customer.pk),
    )


def test_the_same_source_reference_creates_one_follow_up() -> None:
    customer = CustomerFactory()
    first = services.followup_create(
        actor=None, customer=customer, source="call_interested", subject="Deposit", source_ref="attempt:5"
    )
    second = services.followup_create(
        actor=None,
        customer=customer,
        source="call_interested",
        subject="Deposit again",
        source_ref="attempt:5",
    )
    assert second.pk == first.pk
    assert FollowUp.objects.count() == 1


def test_an_explicit_assignee_and_due_date_are_kept(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    followup = services.followup_create(
        actor=agent, customer=CustomerFactory(), source="manual", subject="Card", assignee=agent, due_at=NOW
    )
    assert (followup.assignee, followup.due_at, followup.created_by) == (agent, NOW, agent)


def test_bad_values_are_refused_field_by_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.followup_create(actor=None, customer=CustomerFactory(), source="rumour", subject="  ")
    assert set(caught.value.errors) == {"source", "subject"}
    assert FollowUp.objects.count() == 0


def test_a_follow_up_is_contacted_then_resolved_with_an_outcome() -> None:
    followup: FollowUp = FollowUpFactory()
    followup = services.followup_progress(actor=None, followup=followup, status="contacted")
    assert followup.status == FollowUpStatus.CONTACTED
    assert followup.contacted_at is not None
    with pytest.raises(ValidationFailed) as caught:
        services.followup_progress(actor=None, followup=followup, status="resolved")
    assert list(caught.value.errors) == ["outcome"]
    followup = services.followup_progress(
        actor=None, followup=followup, status="resolved", outcome="Fee refunded"
    )
    assert (followup.status, followup.outcome) == (FollowUpStatus.RESOLVED, "Fee refunded")
    assert followup.resolved_at is not None


def test_a_resolved_follow_up_cannot_move_or_be_reassigned(make_user: Any) -> None:
    followup = FollowUpFactory(status=FollowUpStatus.RESOLVED)
    with pytest.raises(Conflict):
        services.followup_progress(actor=None, followup=followup, status="contacted")
    with pytest.raises(Conflict):
        services.followup_assign(actor=None, followup=followup, assignee=make_user(Role.AGENT))


def test_reassignment_is_audited(make_user: Any) -> None:
    followup = FollowUpFactory()
    agent = make_user(Role.AGENT)
    services.followup_assign(actor=None, followup=followup, assignee=agent)
    followup.refresh_from_db()
    assert followup.assignee == agent
    assert AuditEntry.objects.filter(model="sales.followup", action="update").count() == 1
