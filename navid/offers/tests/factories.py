from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from navid.customers.models import ProductHolding
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.models import Offer, ProductRule, ProductSegmentTarget
from navid.segments.models import Segment, StaticMember


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    name = factory.Sequence(lambda n: f"Offer {n}")
    product_type = factory.SubFactory(ProductTypeFactory)
    value_to_bank = Decimal("1500000")


class ProductRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductRule

    product_type = factory.SubFactory(ProductTypeFactory)
    rules = factory.LazyFunction(dict)


class HoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductHolding

    customer = factory.SubFactory(CustomerFactory)
    product_type = factory.SubFactory(ProductTypeFactory)
    opened_on = dt.date(2020, 1, 1)
    balance = Decimal("100")


class StaticSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    kind = Segment.Kind.STATIC


class StaticMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaticMember

    segment = factory.SubFactory(StaticSegmentFactory)
    customer = factory.SubFactory(CustomerFactory)


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductSegmentTarget

    segment = factory.SubFactory(StaticSegmentFactory)
    product_type = factory.SubFactory(ProductTypeFactory)
    priority = ProductSegmentTarget.Priority.HIGH
