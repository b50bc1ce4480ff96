"""Outbox messages and decision rows for the tests of responses, events and attribution, written directly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from navid.campaigns.models import Campaign, Decision, Group, OutboxMessage, OutboxState
from navid.campaigns.tests.factories import CampaignFactory
from navid.customers.models import Customer
from navid.customers.tests.factories import CustomerFactory


def message_make(
    *,
    campaign: Campaign | None = None,
    customer: Customer | None = None,
    channel: str = "email",
    language: str = "en",
    wave: int = 1,
    address: str = "",
    **fields: Any,
) -> OutboxMessage:
    """A sent message of `campaign` to `customer` (both made when not given)."""
    campaign = campaign or CampaignFactory()
    customer = customer or CustomerFactory()
    default_address = {"email": "customer@example.com", "sms": "+989121234567"}.get(channel, "Tehran")
    return OutboxMessage.objects.create(
        campaign=campaign,
        customer=customer,
        wave=wave,
        channel=channel,
        language=language,
        address=address or default_address,
        idempotency_key=f"{campaign.pk}:{wave}:{customer.pk}:{channel}",
        state=OutboxState.SENT,
        **fields,
    )


def decisions_make(*, campaign: Campaign, groups: Mapping[Any, str]) -> None:
    """One decision row per customer, in the group given (`Group` values)."""
    Decision.objects.bulk_create(
        Decision(
            campaign=campaign,
            customer=customer,
            group=group,
            rule="consent" if group == Group.EXCLUDED else "",
        )
        for customer, group in groups.items()
    )


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """The campaign factory makes an owner with a password; a cheap hasher keeps the tests fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
