"""REST API of campaigns under /api/v1/campaigns: the plan, the workflow actions and the results."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from navid.campaigns import selectors, services
from navid.campaigns.models import Campaign
from navid.campaigns.plans import CampaignPlan, ChannelPlanData, TemplateData
from navid.campaigns.tasks import results_for_reading
from navid.core.errors import NotFound, PermissionDenied

router = Router(tags=["campaigns"])


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class ChannelIn(Schema):
    channel: str = Field(description="email, sms, mail, event or phone")
    priority: int = Field(1, description="1 is tried first")
    unit_cost: Decimal = Decimal("0")
    planned_cost: Decimal = Decimal("0")
    rate_per_second: int = 100


class TemplateIn(Schema):
    channel: str
    language: str = Field(description="fa, ru or en")
    subject: str = ""
    body: str = Field(description="text with personalisation fields such as {first_name}")


class CampaignIn(Schema):
    name: str
    goal: str = Field(description="acquisition, cross_sell, retention or satisfaction")
    description: str = ""
    owner_id: int | None = Field(None, description="empty: the caller")
    target_segment_ids: list[int] = []
    exclusion_segment_ids: list[int] = []
    offer_id: int | None = None
    brand_id: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    waves_max: int = 1
    repeat_every_days: int = 7
    response_window_days: int = 30
    conversion_product_type_id: int | None = None
    control_percent: Decimal = Decimal("10")
    control_seed: int | None = Field(None, description="empty: drawn at random once and recorded")
    budget_planned: Decimal = Decimal("0")
    channels: list[ChannelIn] = []
    templates: list[TemplateIn] = []


class CampaignChange(Schema):
    """Only the fields sent change; `channels` and `templates`, when sent, replace the lists."""

    name: str | None = None
    goal: str | None = None
    description: str | None = None
    owner_id: int | None = None
    target_segment_ids: list[int] | None = None
    exclusion_segment_ids: list[int] | None = None
    offer_id: int | None = None
    brand_id: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    waves_max: int | None = None
    repeat_every_days: int | None = None
    response_window_days: int | None = None
    conversion_product_type_id: int | None = None
    control_percent: Decimal | None = None
    control_seed: int | None = None
    budget_planned: Decimal | None = None
    channels: list[ChannelIn] | None = None
    templates: list[TemplateIn] | None = None


class ChannelOut(Schema):
    channel: str
    priority: int
    unit_cost: Decimal
    planned_cost: Decimal
    rate_per_second: int


class TemplateOut(Schema):
    channel: str
    language: str
    subject: str
    body: str


class CampaignOut(Schema):
    id: int
    name: str
    goal: str
    description: str
    state: str
    owner: str
    target_segment_ids: list[int]
    exclusion_segment_ids: list[int]
    offer_id: int | None
    brand_id: int | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    waves_max: int
    repeat_every_days: int
    response_window_days: int
    conversion_product_type_id: int | None
    control_percent: Decimal
    control_seed: int | None
    budget_planned: Decimal
    submitted_by: str | None
    approved_by: str | None
    review_note: str
    channels: list[ChannelOut]
    templates: list[TemplateOut]
    actions: list[str] = Field(description="the workflow actions the caller may take now")


class ActionIn(Schema):
    note: str = Field("", description="approve: optional; reject: required")


class UpliftOut(Schema):
    treatment_rate: float | None
    control_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str = Field(description="newcombe-hybrid-score: 95 % interval; p-value of the pooled z-test")


class WaveOut(Schema):
    number: int
    scheduled_at: dt.datetime | None
    state: str
    messages: int
    notified: int
    delivered: int
    opened: int
    clicked: int
    responded: int
    converted: int
    cost: Decimal


class ChannelResultOut(Schema):
    channel: str
    cost_planned: Decimal
    cost_actual: Decimal
    messages: int
    notified: int


class ResultsOut(Schema):
    campaign_id: int
    final: bool = Field(description="false while the campaign can still send or be answered")
    computed_at: dt.datetime
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    targeted: int
    excluded: dict[str, int] = Field(description="customers removed, by contact-policy rule")
    excluded_total: int
    treatment: int
    control: int
    notified: int
    delivered: int
    opened: int
    clicked: int
    responded: int
    converted: int
    control_responded: int
    control_converted: int
    uplift: UpliftOut
    incremental_conversions: float | None
    cost_planned: Decimal
    cost_actual: Decimal
    cost_per_contact: Decimal | None
    cost_per_response: Decimal | None
    cost_per_acquisition: Decimal | None
    value_per_conversion: Decimal | None
    roi: float | None
    waves: list[WaveOut]
    channels: list[ChannelResultOut]


def _out(campaign: Campaign, user: Any) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "goal": campaign.goal,
        "description": campaign.description,
        "state": campaign.state,
        "owner": campaign.owner.get_username(),
        "target_segment_ids": sorted(s.pk for s in campaign.target_segments.all()),
        "exclusion_segment_ids": sorted(s.pk for s in campaign.exclusion_segments.all()),
        "offer_id": campaign.offer_id,
        "brand_id": campaign.brand_id,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "waves_max": campaign.waves_max,
        "repeat_every_days": campaign.repeat_every_days,
        "response_window_days": campaign.response_window_days,
        "conversion_product_type_id": campaign.conversion_product_type_id,
        "control_percent": campaign.control_percent,
        "control_seed": campaign.control_seed,
        "budget_planned": campaign.budget_planned,
        "submitted_by": campaign.submitted_by.get_username() if campaign.submitted_by else None,
        "approved_by": campaign.approved_by.get_username() if campaign.approved_by else None,
        "review_note": campaign.review_note,
        "channels": [
            {
                "channel": c.channel,
                "priority": c.priority,
                "unit_cost": c.unit_cost,
                "planned_cost": c.planned_cost,
                "rate_per_second": c.rate_per_second,
            }
            for c in sorted(campaign.channel_plans.all(), key=lambda c: (c.priority, c.channel))
        ],
        "templates": [
            {"channel": t.channel, "language": t.language, "subject": t.subject, "body": t.body}
            for t in sorted(campaign.templates.all(), key=lambda t: (t.channel, t.language))
        ],
        "actions": [a.name for a in selectors.campaign_actions(campaign=campaign, user=user)],
    }


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    _require(request, "campaigns.view_campaign")
    campaign = selectors.campaign_detail(pk=campaign_id)
    if campaign is None:
        raise NotFound(campaign_id)
    return campaign


def _channels(items: list[ChannelIn]) -> list[ChannelPlanData]:
    return [ChannelPlanData(**c.dict()) for c in items]


def _templates(items: list[TemplateIn]) -> list[TemplateData]:
    return [
        TemplateData(channel=t.channel, language=t.language, body=t.body, subject=t.subject) for t in items
    ]


@router.get("/campaigns", response=list[CampaignOut], summary="Campaigns")
def list_campaigns(request: HttpRequest, state: str | None = None) -> list[dict[str, Any]]:
    _require(request, "campaigns.view_campaign")
    campaigns = selectors.campaigns_visible(user=request.user, state=state).prefetch_related(
        "target_segments", "exclusion_segments", "channel_plans", "templates"
    )
    return [_out(c, request.user) for c in campaigns.select_related("submitted_by", "approved_by")]


@router.post("/campaigns", response={201: CampaignOut}, summary="Create a campaign plan (a draft)")
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    data["channels"] = _channels(payload.channels)
    data["templates"] = _templates(payload.templates)
    campaign = services.campaign_create(actor=request.user, plan=CampaignPlan(**data))
    return Status(201, _out(_campaign(request, campaign.pk), request.user))


@router.get("/campaigns/{campaign_id}", response=CampaignOut, summary="One campaign")
def get_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return _out(_campaign(request, campaign_id), request.user)


@router.patch("/campaigns/{campaign_id}", response=CampaignOut, summary="Change a draft or rejected plan")
def change_campaign(request: HttpRequest, campaign_id: int, payload: CampaignChange) -> dict[str, Any]:
    campaign = _campaign(request, campaign_id)
    sent = payload.dict(exclude_unset=True)
    if "channels" in sent:
        sent["channels"] = _channels(payload.channels or [])
    if "templates" in sent:
        sent["templates"] = _templates(payload.templates or [])
    plan = dataclasses.replace(selectors.campaign_plan(campaign=campaign), **sent)
    services.campaign_update(actor=request.user, campaign=campaign, plan=plan)
    return _out(_campaign(request, campaign_id), request.user)


def _action(name: str, service: Callable[..., Campaign], *, with_note: bool = False) -> None:
    def handler(request: HttpRequest, campaign_id: int, payload: ActionIn) -> dict[str, Any]:
        campaign = _campaign(request, campaign_id)
        if with_note:
            service(campaign=campaign, actor=request.user, note=payload.note)
        else:
            service(campaign=campaign, actor=request.user)
        return _out(_campaign(request, campaign_id), request.user)

    handler.__name__ = f"campaign_{name}"
    router.post(
        f"/campaigns/{{campaign_id}}/{name}",
        response=CampaignOut,
        summary=f"Workflow: {name}",
        description="403 without the permission (or, to approve or reject, for the campaign's maker); "
        "409 when the action does not fit the campaign's state.",
    )(handler)


_action("submit", services.campaign_submit)
_action("approve", services.campaign_approve, with_note=True)
_action("reject", services.campaign_reject, with_note=True)
_action("schedule", services.campaign_schedule)
_action("launch", services.campaign_launch)
_action("pause", services.campaign_pause)
_action("resume", services.campaign_resume)
_action("stop", services.campaign_stop)


@router.get(
    "/campaigns/{campaign_id}/results", response=ResultsOut, summary="Results: funnel, uplift, cost, ROI"
)
def get_results(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    campaign = _campaign(request, campaign_id)
    return results_for_reading(campaign=campaign).as_dict()
