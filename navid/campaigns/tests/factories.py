from decimal import Decimal

import factory

from navid.accounts.tests.factories import UserFactory
from navid.campaigns.models import Brand, Campaign, CampaignChannel, ChannelPlan, Goal, MessageTemplate
from navid.offers.tests.factories import OfferFactory


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = "Navid Bank"
    sender_name = "Navid Bank"
    email_from = "offers@bank.example"
    sms_sender = "NavidBank"
    footer_text = "Navid Bank, 1 Ferdowsi Square"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    goal = Goal.CROSS_SELL
    owner = factory.SubFactory(UserFactory)
    offer = factory.SubFactory(OfferFactory)
    brand = factory.SubFactory(BrandFactory)
    control_percent = Decimal("10")
    control_seed = 20261122


class ChannelPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelPlan

    campaign = factory.SubFactory(CampaignFactory)
    channel = CampaignChannel.EMAIL
    unit_cost = Decimal("100")


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    campaign = factory.SubFactory(CampaignFactory)
    channel = CampaignChannel.EMAIL
    language = "en"
    subject = "An offer for you, {first_name}"
    body = "Dear {full_name}, open a deposit with us. {unsubscribe_url}"
