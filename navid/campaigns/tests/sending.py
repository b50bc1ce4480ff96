"""Test and benchmark helpers for sending: a running campaign with templates, and its outbox written directly."""

from __future__ import annotations

from decimal import Decimal

from navid.campaigns.models import Campaign, CampaignChannel, OutboxMessage, State
from navid.campaigns.tests.factories import CampaignFactory, ChannelPlanFactory, MessageTemplateFactory
from navid.customers.models import Customer


def running_campaign(
    *,
    channel: str = CampaignChannel.EMAIL,
    rate_per_second: int = 100000,
    unit_cost: Decimal = Decimal("100"),
) -> Campaign:
    """A running campaign with one channel and templates in English and Persian."""
    campaign = CampaignFactory(state=State.RUNNING)
    ChannelPlanFactory(
        campaign=campaign, channel=channel, unit_cost=unit_cost, rate_per_second=rate_per_second
    )
    if channel == CampaignChannel.EMAIL:
        MessageTemplateFactory(
            campaign=campaign,
            channel=channel,
            language="en",
            subject="An offer for you, {first_name}",
            body="Dear {full_name}, see https://bank.example/deposit before {offer_valid_until}.",
        )
        MessageTemplateFactory(
            campaign=campaign,
            channel=channel,
            language="fa",
            subject="پیشنهادی برای شما، {first_name}",
            body="{full_name} گرامی، https://bank.example/deposit را ببینید.",
        )
    else:
        MessageTemplateFactory(
            campaign=campaign,
            channel=channel,
            language="en",
            subject="",
            body="Dear {first_name}, a new deposit.",
        )
        MessageTemplateFactory(
            campaign=campaign,
            channel=channel,
            language="fa",
            subject="",
            body="{first_name} گرامی، سپرده جدید.",
        )
    return campaign


def outbox_write(
    *, campaign: Campaign, customers: list[Customer], channel: str = CampaignChannel.EMAIL
) -> None:
    """The outbox materialisation would write: one message per customer, in bulk."""
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                campaign=campaign,
                wave=1,
                customer_id=customer.id,
                channel=channel,
                language=customer.language,
                address=customer.email if channel == CampaignChannel.EMAIL else customer.phone,
                idempotency_key=f"{campaign.id}:1:{customer.id}:{channel}",
            )
            for customer in customers
        ],
        batch_size=5000,
    )


def customers_bulk(*, count: int, start: int = 0) -> list[Customer]:
    """`count` customers with an email and a phone, written with one bulk insert per 5,000."""
    created = Customer.objects.bulk_create(
        [
            Customer(
                first_name=f"Customer{n}",
                last_name="Test",
                email=f"c{n}@example.com",
                phone=f"+98912{n:07d}",
                language="en",
            )
            for n in range(start, start + count)
        ],
        batch_size=5000,
    )
    return list(created)
