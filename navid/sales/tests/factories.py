"""Factories for sales."""

from __future__ import annotations

import datetime as dt

import factory

from navid.customers.tests.factories import CustomerFactory
from navid.sales.models import FollowUp

# A fixed moment tests count from: 2025-03-01 12:00 UTC.
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    source = "manual"
    subject = factory.Sequence(lambda n: f"Call back about the deposit {n}")
    due_at = NOW + dt.timedelta(days=3)
