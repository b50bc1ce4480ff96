from decimal import Decimal

import factory

from navid.customers.tests.factories import ProductTypeFactory
from navid.offers.models import Offer


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    name = factory.Sequence(lambda n: f"Offer {n}")
    product_type = factory.SubFactory(ProductTypeFactory)
    value_to_bank = Decimal("1500000")
