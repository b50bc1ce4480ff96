"""Factories for sales."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.sales.models import DistributionRule, FollowUp, Lead, ProductRequirement

# A fixed moment tests count from: 2025-03-01 12:00 UTC.
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    source = "manual"
    subject = factory.Sequence(lambda n: f"Call back about the deposit {n}")
    due_at = NOW + dt.timedelta(days=3)


# A tiny valid PDF and PNG: what the document checks accept.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    customer = factory.SubFactory(CustomerFactory)
    source = "manual"
    stage = "new"
    stage_entered_at = NOW
    due_at = NOW + dt.timedelta(days=1)


class DistributionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DistributionRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: (n + 1) * 10)
    strategy = "round_robin"

    @factory.post_generation
    def managers(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.managers.set(extracted)


class RequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductRequirement

    product_type = factory.SubFactory(ProductTypeFactory)
    fields = factory.LazyFunction(
        lambda: [
            {"name": "monthly_income", "label": "Monthly income", "type": "number", "required": True},
            {"name": "employer", "label": "Employer", "type": "text", "required": False},
        ]
    )
    documents = factory.LazyFunction(lambda: [{"kind": "id_card", "label": "ID card", "required": True}])
