"""REST API of interactions under /api/v1/interactions: log, timeline, signals, ingest of feeds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field

from navid.core.errors import PermissionDenied
from navid.customers.selectors import customer_get
from navid.interactions import selectors, services
from navid.interactions.models import ComplaintCategory, Interaction, InteractionIngestJob
from navid.interactions.tasks import ingest_interactions

router = Router(tags=["interactions"])


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class InteractionIn(Schema):
    """One interaction; the rules are those of the log form and of the ingest (see the user guide)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int
    kind: str = Field(..., description="call, sms, email, letter, branch_visit, web_visit, referral, ...")
    channel: str | None = Field(None, description="where it happened; implied by some kinds (a call: phone)")
    direction: str | None = Field(None, description="inbound or outbound; implied by some kinds")
    occurred_at: str | dt.datetime = Field(
        ..., description="ISO 8601; without an offset, the bank's local time; Jalali dates accepted"
    )
    outcome: str | None = None
    duration_seconds: int | str | None = None
    cost: Decimal | str | None = None
    employee: str | None = Field(None, description="username")
    campaign_id: int | None = None
    notes: str | None = None
    rating: int | str | None = Field(None, description="1 to 5")
    complaint_category: str | None = Field(None, description="code of a complaint category (complaints only)")
    returned_product: str | None = Field(None, description="code of a product type")
    request_open: bool | None = Field(None, description="a request or complaint still open")


class InteractionOut(Schema):
    id: int
    customer_id: int
    kind: str
    channel: str
    direction: str
    occurred_at: dt.datetime
    outcome: str
    duration_seconds: int | None
    cost: Decimal
    employee: str | None
    campaign_id: int | None
    notes: str
    rating: int | None
    complaint_category: str | None
    returned_product: str | None
    request_open: bool
    created_at: dt.datetime
    source: str


def interaction_out(interaction: Interaction) -> dict[str, Any]:
    """The API form of an interaction: people by username, list entries by code."""
    data = {f: getattr(interaction, f) for f in InteractionOut.model_fields if hasattr(interaction, f)}
    employee = interaction.employee
    data["employee"] = employee.get_username() if employee is not None else None
    for name in ("complaint_category", "returned_product"):
        item = getattr(interaction, name)
        data[name] = item.code if item is not None else None
    return data


class TimelinePage(Schema):
    count: int
    page: int
    page_size: int
    num_pages: int
    results: list[InteractionOut]


class SignalsOut(Schema):
    last_contact_at: dt.datetime | None
    contacts_30d: int
    contacts_90d: int
    complaints: int
    open_requests: int


@router.post("/interactions", response={201: InteractionOut}, summary="Log an interaction")
def log_interaction(request: HttpRequest, payload: InteractionIn) -> Status[dict[str, Any]]:
    _require(request, "interactions.add_interaction")
    customer = customer_get(user=request.user, pk=payload.customer_id)
    values = payload.dict(exclude_unset=True, exclude={"customer_id"})
    interaction = services.interaction_log(
        actor=request.user,
        customer=customer,
        source="api",
        **{k: v for k, v in values.items() if v is not None},
    )
    return Status(201, interaction_out(interaction))


_KIND_FILTER = Query(None, description="only these kinds; repeat to give several")


@router.get(
    "/interactions/customers/{customer_id}",
    response=TimelinePage,
    summary="A customer's timeline, newest first",
)
def customer_timeline(
    request: HttpRequest,
    customer_id: int,
    kind: list[str] | None = _KIND_FILTER,
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    _require(request, "interactions.view_interaction")
    customer = customer_get(user=request.user, pk=customer_id)
    found = selectors.customer_timeline(customer=customer, kinds=kind, page=page, page_size=page_size)
    return {
        "count": found.paginator.count,
        "page": found.number,
        "page_size": page_size,
        "num_pages": found.paginator.num_pages,
        "results": [interaction_out(i) for i in found.object_list],
    }


@router.get(
    "/interactions/customers/{customer_id}/signals",
    response=SignalsOut,
    summary="Contact history figures of a customer",
)
def customer_signals(request: HttpRequest, customer_id: int) -> selectors.CustomerSignals:
    _require(request, "interactions.view_interaction")
    return selectors.customer_signals(customer=customer_get(user=request.user, pk=customer_id))


class IngestJobOut(Schema):
    id: int
    file_name: str
    format: str
    state: str
    rows_total: int
    rows_done: int
    percent: int
    accepted_count: int
    rejected_count: int
    errors: list[dict[str, Any]]
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@router.post(
    "/interactions/ingest",
    response={202: IngestJobOut},
    tags=["ingest"],
    summary="Start an ingest of a CSV or JSON lines feed",
)
def start_ingest(
    request: HttpRequest, file: File[UploadedFile], format: Form[str] = ""
) -> Status[InteractionIngestJob]:
    """Upload a feed; the job runs in the background. `format` is csv or jsonl (default: from the file)."""
    _require(request, "interactions.ingest_interactions")
    job = services.interaction_ingest_job_create(
        actor=request.user, file_name=file.name or "upload", content=file, file_format=format
    )
    transaction.on_commit(lambda: ingest_interactions.delay(job.pk))
    return Status(202, job)


@router.get(
    "/interactions/ingest/{job_id}",
    response=IngestJobOut,
    tags=["ingest"],
    summary="Progress and report of an ingest",
)
def get_ingest(request: HttpRequest, job_id: int) -> InteractionIngestJob:
    _require(request, "interactions.ingest_interactions")
    return get_object_or_404(InteractionIngestJob, pk=job_id)


class ComplaintCategoryOut(Schema):
    id: int
    code: str
    name_en: str
    name_fa: str
    name_ru: str
    is_active: bool


@router.get(
    "/interactions/complaint-categories",
    response=list[ComplaintCategoryOut],
    tags=["lists"],
    summary="Complaint categories",
)
def complaint_categories(request: HttpRequest) -> Any:
    _require(request, "interactions.view_interaction")
    return ComplaintCategory.objects.all()


@router.get("/interactions/{int:interaction_id}", response=InteractionOut, summary="One interaction")
def get_interaction(request: HttpRequest, interaction_id: int) -> dict[str, Any]:
    _require(request, "interactions.view_interaction")
    return interaction_out(selectors.interaction_get(user=request.user, pk=interaction_id))
