"""Logging one interaction: stored as checked, audited on the customer, refused for the trash; merges move them."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from navid.accounts.models import AuditEntry
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.services import customer_merge
from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import Interaction
from navid.interactions.services import interaction_log
from navid.interactions.tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db


def test_log_stores_the_clean_values_and_audits_on_the_customer(make_user: Any) -> None:
    agent = make_user(username="agent1")
    customer = CustomerFactory()
    # when an agent logs an inbound call
    interaction = interaction_log(
        actor=agent,
        customer=customer,
        kind="call",
        direction="inbound",
        occurred_at="2025-02-28 10:00",
        outcome="resolved",
        duration_seconds="185",
        cost="120.00",
        employee="agent1",
        rating=5,
    )
    # then it is stored as checked, with its source
    stored = Interaction.objects.get()
    assert stored == interaction
    assert (stored.customer, stored.kind, stored.channel, stored.direction, stored.outcome) == (
        customer,
        "call",
        "phone",
        "inbound",
        "resolved",
    )
    assert stored.occurred_at == dt.datetime(2025, 2, 28, 6, 30, tzinfo=dt.UTC)
    assert (stored.duration_seconds, stored.cost, stored.employee, stored.rating, stored.source) == (
        185,
        Decimal("120.00"),
        agent,
        5,
        "ui",
    )
    # and the customer's history names who logged it
    entry = AuditEntry.objects.get(model="interactions.interaction")
    assert (entry.actor, entry.action, entry.record_model, entry.record_id) == (
        agent,
        "create",
        "customers.customer",
        str(customer.pk),
    )
    assert entry.changes["kind"] == [None, "call"]


def test_log_with_bad_values_writes_nothing() -> None:
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as caught:
        interaction_log(actor=None, customer=customer, kind="call", occurred_at="soon")
    assert caught.value.errors == {
        "occurred_at": ["is not a date and time (use YYYY-MM-DD HH:MM, ISO 8601 or a Jalali date)"],
        "direction": ["is required for this kind of interaction"],
    }
    assert (Interaction.objects.count(), AuditEntry.objects.count()) == (0, 0)


def test_a_customer_in_the_trash_gets_no_interactions() -> None:
    customer = CustomerFactory(deleted_at=timezone.now())
    with pytest.raises(Conflict):
        interaction_log(
            actor=None, customer=customer, kind="sms", direction="outbound", occurred_at="2025-01-01"
        )
    assert Interaction.objects.count() == 0


def test_merge_moves_the_interactions_to_the_survivor() -> None:
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    kept = InteractionFactory(customer=survivor)
    moved = InteractionFactory(customer=duplicate, kind="sms", channel="sms")
    customer_merge(actor=None, survivor=survivor, duplicate=duplicate)
    assert sorted(survivor.interactions.values_list("pk", flat=True)) == sorted([kept.pk, moved.pk])
