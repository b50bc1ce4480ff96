"""REST API of telemarketing: call reports (R8.2) and the supervisor's live view, read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from navid.core.errors import PermissionDenied
from navid.telemarketing import selectors
from navid.telemarketing.selectors import CallFigures

router = Router(tags=["telemarketing"])


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class CallFiguresOut(Schema):
    key: int | None
    label: str
    attempts: int
    contacts: int
    contact_rate: float
    conversions: int
    conversion_rate: float
    talk_seconds: int
    wrap_up_seconds: int
    cost: Decimal
    cost_per_call: Decimal
    cost_per_conversion: Decimal | None


class AgentStateOut(Schema):
    agent_id: int
    username: str
    state: str
    customer_id: int | None
    campaign_id: int | None


def _figures(rows: list[CallFigures]) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "label": row.label,
            "attempts": row.attempts,
            "contacts": row.contacts,
            "contact_rate": row.contact_rate,
            "conversions": row.conversions,
            "conversion_rate": row.conversion_rate,
            "talk_seconds": row.talk_seconds,
            "wrap_up_seconds": row.wrap_up_seconds,
            "cost": row.cost,
            "cost_per_call": row.cost_per_call,
            "cost_per_conversion": row.cost_per_conversion,
        }
        for row in rows
    ]


@router.get("/telemarketing/reports/campaigns", response=list[CallFiguresOut], summary="Calls per campaign")
def report_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, "telemarketing.view_call_reports")
    return _figures(selectors.call_report_by_campaign())


@router.get("/telemarketing/reports/agents", response=list[CallFiguresOut], summary="Calls per agent")
def report_agents(request: HttpRequest, campaign_id: int | None = None) -> list[dict[str, Any]]:
    _require(request, "telemarketing.view_call_reports")
    return _figures(selectors.call_report_by_agent(campaign_id=campaign_id))


@router.get("/telemarketing/agents", response=list[AgentStateOut], summary="Agents' states now")
def agents_now(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, "telemarketing.supervise_calls")
    return [
        {
            "agent_id": row["agent"].pk,
            "username": row["agent"].user.get_username(),
            "state": row["agent"].state,
            "customer_id": row["attempt"].customer_id if row["attempt"] else None,
            "campaign_id": row["attempt"].campaign_id if row["attempt"] else None,
        }
        for row in selectors.agents_board()
    ]
