"""Shared by the campaign workflow tests: the people of the maker-checker workflow and a complete plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from navid.campaigns.models import Goal
from navid.campaigns.plans import CampaignPlan, ChannelPlanData, TemplateData
from navid.segments.models import Segment

START = timezone.make_aware(dt.datetime(2026, 12, 1, 9, 0))
END = timezone.make_aware(dt.datetime(2026, 12, 31, 18, 0))
# Every customer, prospect or customer: a valid rule tree, as the contact policy's dry run compiles it.
NO_RULES = {
    "version": 1,
    "root": {
        "type": "group",
        "op": "and",
        "children": [
            {"type": "field", "field": "status", "operator": "in", "value": ["prospect", "customer"]}
        ],
    },
}


def segment(name: str = "Everyone") -> Segment:
    """A dynamic segment of everyone."""
    return Segment.objects.create(name=name, definition=NO_RULES)


def plan(
    *, owner: Any, target: Segment, offer: Any = None, brand: Any = None, **changes: Any
) -> CampaignPlan:
    """A plan that passes every check: email and SMS, messages in Persian and English."""
    base = CampaignPlan(
        name="Deposit cross-sell",
        goal=Goal.CROSS_SELL,
        owner_id=owner.pk,
        description="Offer the 12-month deposit to salary customers.",
        target_segment_ids=[target.pk],
        offer_id=offer.pk if offer else None,
        brand_id=brand.pk if brand else None,
        starts_at=START,
        ends_at=END,
        waves_max=3,
        repeat_every_days=7,
        response_window_days=30,
        control_percent=Decimal("10"),
        control_seed=424242,
        budget_planned=Decimal("5000000"),
        channels=[
            ChannelPlanData("email", priority=1, unit_cost=Decimal("50"), planned_cost=Decimal("1000000")),
            ChannelPlanData("sms", priority=2, unit_cost=Decimal("300"), planned_cost=Decimal("3000000")),
        ],
        templates=[
            TemplateData(
                "email", "en", "Dear {first_name}, a deposit for you. {unsubscribe_url}", "An offer"
            ),
            TemplateData(
                "email", "fa", "{first_name} گرامی، سپرده ویژه برای شما. {unsubscribe_url}", "پیشنهاد"
            ),
            TemplateData("sms", "fa", "{first_name} گرامی، سپرده ویژه. لغو: ۱۱"),
        ],
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """Hash the test users' passwords quickly: the tests are about campaigns, not password storage."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
