from __future__ import annotations

import datetime as dt

import factory

from navid.customers.tests.factories import CustomerFactory
from navid.loyalty.models import CustomerTier, EarnKind, EarnRule, EntryKind, PointsEntry, Tier

T0 = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)


class EarnRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EarnRule

    kind = EarnKind.SURVEY_ANSWERED
    points = 50
    validity_months = 12
    valid_from = dt.date(2020, 1, 1)


class PointsEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PointsEntry

    customer = factory.SubFactory(CustomerFactory)
    kind = EntryKind.MANUAL
    points = 100
    source_ref = factory.Sequence(lambda n: f"test-{n}")
    occurred_at = T0


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    code = factory.Sequence(lambda n: f"tier-{n}")
    name_en = factory.Sequence(lambda n: f"Tier {n}")
    threshold = factory.Sequence(lambda n: 1000 * (n + 1))


class CustomerTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTier

    customer = factory.SubFactory(CustomerFactory)
    tier = factory.SubFactory(TierFactory)
    points_12_months = 1000
    computed_at = T0
