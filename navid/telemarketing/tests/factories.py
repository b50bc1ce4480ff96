"""Factories for telemarketing: agents, call settings, and a running phone campaign with its call list."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import factory

from navid.accounts.roles import Role
from navid.accounts.tests.factories import UserFactory
from navid.campaigns.models import Campaign, CampaignChannel, State
from navid.campaigns.tests.factories import CampaignFactory, ChannelPlanFactory
from navid.campaigns.tests.sending import outbox_write
from navid.customers.models import Consent, ConsentPurpose, Customer
from navid.customers.tests.factories import CustomerFactory
from navid.telemarketing.models import Agent, CallSettings, OutcomeCode, ScriptBranch, ScriptNode
from navid.telemarketing.services import call_list_sync, outcome_codes_ensure


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory, role=Role.AGENT)
    extension = factory.Sequence(lambda n: f"PJSIP/{1001 + n}")
    languages = factory.LazyFunction(lambda: ["fa"])


class CallSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallSettings

    campaign = factory.SubFactory(CampaignFactory, state=State.RUNNING)
    tariff_per_minute = Decimal("600")


class ScriptNodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScriptNode

    campaign = factory.SubFactory(CampaignFactory)
    key = factory.Sequence(lambda n: f"step-{n}")
    title = factory.Sequence(lambda n: f"Step {n}")
    text_fa = "سلام، از بانک نوید تماس می‌گیرم."
    text_en = "Hello, this is Navid Bank calling."


class ScriptBranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScriptBranch

    node = factory.SubFactory(ScriptNodeFactory)
    answer_fa = "بله"
    answer_en = "Yes"


def phone_customers(count: int, **kwargs: Any) -> list[Customer]:
    """Customers who agreed to marketing calls."""
    customers = CustomerFactory.create_batch(count, **kwargs)
    Consent.objects.bulk_create(
        Consent(customer=c, channel="phone", purpose=ConsentPurpose.MARKETING, granted=True, source="test")
        for c in customers
    )
    return customers


def call_campaign(
    *,
    customers: list[Customer],
    agents: Sequence[Agent] = (),
    **settings: Any,
) -> Campaign:
    """A running phone campaign with call settings, default outcome codes, its outbox and call list, worked by
    `agents`."""
    campaign = CampaignFactory(state=State.RUNNING)
    ChannelPlanFactory(campaign=campaign, channel=CampaignChannel.PHONE, unit_cost=Decimal("0"))
    CallSettingsFactory(campaign=campaign, **settings)
    outcome_codes_ensure(campaign=campaign)
    for agent in agents:
        agent.campaigns.add(campaign)
    outbox_write(campaign=campaign, customers=customers, channel=CampaignChannel.PHONE)
    call_list_sync(campaign_id=campaign.pk)
    return campaign


def code(campaign: Campaign, name: str) -> OutcomeCode:
    return OutcomeCode.objects.get(campaign=campaign, code=name)
