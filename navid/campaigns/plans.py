"""A campaign plan as plain values: what the form and the API hand to `campaign_create` and `campaign_update`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# The languages a message can be written in.
LANGUAGES = ("fa", "ru", "en")


@dataclass(frozen=True)
class ChannelPlanData:
    """One channel of a plan: its priority (1 first), cost per contact, planned cost and send rate."""

    channel: str
    priority: int = 1
    unit_cost: Decimal = Decimal("0")
    planned_cost: Decimal = Decimal("0")
    rate_per_second: int = 100


@dataclass(frozen=True)
class TemplateData:
    """The message of one channel in one language."""

    channel: str
    language: str
    body: str
    subject: str = ""


@dataclass(frozen=True)
class CampaignPlan:
    """Everything a campaign manager plans; `campaign_create` and `campaign_update` check it as a whole."""

    name: str
    goal: str
    owner_id: int | None = None
    description: str = ""
    target_segment_ids: Sequence[int] = ()
    exclusion_segment_ids: Sequence[int] = ()
    offer_id: int | None = None
    brand_id: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    waves_max: int = 1
    repeat_every_days: int = 7
    response_window_days: int = 30
    conversion_product_type_id: int | None = None
    control_percent: Decimal = Decimal("10")
    control_seed: int | None = None
    budget_planned: Decimal = Decimal("0")
    channels: Sequence[ChannelPlanData] = ()
    templates: Sequence[TemplateData] = field(default_factory=tuple)


def template_error_key(channel: str, language: str, part: str) -> str:
    """Where an error about a template is reported: `templates.<channel>.<language>.<subject|body>`."""
    return f"templates.{channel}.{language}.{part}"


def channel_error_key(channel: str, part: str) -> str:
    """Where an error about a channel plan is reported: `channels.<channel>.<field>`."""
    return f"channels.{channel}.{part}"
