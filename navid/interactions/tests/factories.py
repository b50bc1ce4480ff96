"""Factories for interactions and complaint categories."""

from __future__ import annotations

import datetime as dt

import factory

from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import ComplaintCategory, Interaction

# A fixed moment tests count from: 2025-03-01 12:00 UTC.
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class ComplaintCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComplaintCategory
        django_get_or_create = ("code",)

    code = "fees"
    name_en = "Fees and charges"
    name_fa = "کارمزدها"
    name_ru = "Комиссии"


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = "call"
    channel = "phone"
    direction = "outbound"
    occurred_at = factory.Sequence(lambda n: NOW - dt.timedelta(hours=n + 1))
    outcome = "completed"
    source = "ui"
