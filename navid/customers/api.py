"""REST API of customers, imports and the bank's lists under /api/v1/."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from navid.core.errors import PermissionDenied, ValidationFailed
from navid.customers import selectors, services
from navid.customers.models import (
    Customer,
    ImportJob,
    Industry,
    ProductType,
    ProspectRank,
    ProspectStatus,
    ProspectType,
)
from navid.customers.presenters import national_id_for
from navid.customers.tasks import import_customers
from navid.customers.validation import REFERENCE_MODELS

router = Router(tags=["customers"])


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class CustomerOut(Schema):
    id: int
    external_id: str | None
    kind: str
    status: str
    display_name: str
    first_name: str
    last_name: str
    organisation_name: str
    national_id: str
    birth_date: dt.date | None
    phone: str
    email: str
    address: str
    city: str
    postal_code: str
    region: str | None
    branch: str | None
    relationship_manager: str | None
    language: str
    preferred_channel: str
    prospect_type: str | None
    prospect_rank: str | None
    prospect_status: str | None
    industry: str | None
    do_not_contact: bool
    customer_since: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class CustomerIn(Schema):
    """Fields to set; list fields take the entry's code (or its name in any language)."""

    external_id: str | None = Field(None, max_length=64)
    kind: str | None = Field(None, description="person or organisation")
    status: str | None = Field(None, description="prospect or customer")
    first_name: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    national_id: str | None = Field(None, description="Iranian national code, legal-entity ID or Russian INN")
    birth_date: dt.date | None = None
    phone: str | None = Field(None, description="any format; stored as E.164")
    email: str | None = None
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    branch: str | None = None
    relationship_manager: str | None = Field(None, description="username")
    language: str | None = Field(None, description="fa, ru or en")
    preferred_channel: str | None = None
    prospect_type: str | None = None
    prospect_rank: str | None = None
    prospect_status: str | None = None
    industry: str | None = None
    do_not_contact: bool | None = None
    customer_since: dt.date | None = None


class CustomerPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[CustomerOut]


def customer_out(customer: Customer, user: Any) -> dict[str, Any]:
    """The API form of a customer as `user` may see it."""
    data = {f: getattr(customer, f) for f in CustomerOut.model_fields if hasattr(customer, f)}
    for name in REFERENCE_MODELS:
        item = getattr(customer, name)
        data[name] = item.code if item is not None else None
    rm = customer.relationship_manager
    data["relationship_manager"] = rm.get_username() if rm is not None else None
    data["national_id"] = national_id_for(user=user, value=customer.national_id)
    return data


def _with_lists(qs: Any) -> Any:
    return qs.select_related(*REFERENCE_MODELS, "relationship_manager")


@router.get("/customers", response=CustomerPage, summary="List and search customers")
def list_customers(
    request: HttpRequest,
    filters: Query[selectors.CustomerFilters],
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    _require(request, "customers.view_customer")
    size = page_size
    qs = _with_lists(selectors.customer_list(user=request.user, filters=filters))
    rows = list(qs[(page - 1) * size : page * size])
    count = qs.count() if len(rows) == size or page > 1 else len(rows)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [customer_out(c, request.user) for c in rows],
    }


@router.get(
    "/customers/search", response=list[CustomerOut], summary="Search by name, phone, national ID or email"
)
def search_customers(
    request: HttpRequest, q: str, limit: int = Query(20, ge=1, le=100)
) -> list[dict[str, Any]]:
    _require(request, "customers.view_customer")
    qs = _with_lists(selectors.customer_list(user=request.user, filters=selectors.CustomerFilters(q=q)))
    return [customer_out(c, request.user) for c in qs[:limit]]


@router.get("/customers/trash", response=list[CustomerOut], summary="Customers in the trash")
def list_trash(request: HttpRequest, limit: int = Query(100, ge=1, le=500)) -> list[dict[str, Any]]:
    _require(request, "customers.restore_customer")
    qs = _with_lists(
        selectors.customer_list(user=request.user, filters=selectors.CustomerFilters(), trash=True)
    )
    return [customer_out(c, request.user) for c in qs[:limit]]


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    _require(request, "customers.view_customer")
    return customer_out(selectors.customer_get(user=request.user, pk=customer_id), request.user)


@router.post("/customers", response={201: CustomerOut})
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[dict[str, Any]]:
    _require(request, "customers.add_customer")
    customer = services.customer_create(
        actor=request.user, values=payload.dict(exclude_unset=True), source="api"
    )
    return Status(201, customer_out(customer, request.user))


@router.patch("/customers/{customer_id}", response=CustomerOut)
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerIn) -> dict[str, Any]:
    _require(request, "customers.change_customer")
    customer = selectors.customer_get(user=request.user, pk=customer_id)
    customer = services.customer_update(
        actor=request.user, customer=customer, values=payload.dict(exclude_unset=True), source="api"
    )
    return customer_out(customer, request.user)


@router.delete("/customers/{customer_id}", response={204: None})
def delete_customer(request: HttpRequest, customer_id: int) -> Status[None]:
    _require(request, "customers.delete_customer")
    services.customer_delete(
        actor=request.user, customer=selectors.customer_get(user=request.user, pk=customer_id)
    )
    return Status(204, None)


@router.post("/customers/{customer_id}/restore", response=CustomerOut)
def restore_customer(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    _require(request, "customers.restore_customer")
    customer = selectors.customer_get(user=request.user, pk=customer_id, trash=True)
    return customer_out(services.customer_restore(actor=request.user, customer=customer), request.user)


class ConsentIn(Schema):
    channel: str
    purpose: str
    granted: bool
    source: str = Field(..., min_length=1, max_length=100)


class ConsentOut(Schema):
    channel: str
    purpose: str
    granted: bool
    source: str
    recorded_at: dt.datetime


@router.post("/customers/{customer_id}/consents", response=ConsentOut, summary="Record a consent or opt-out")
def set_consent(request: HttpRequest, customer_id: int, payload: ConsentIn) -> Any:
    _require(request, "customers.manage_consent")
    from navid.customers.models import Channel, ConsentPurpose

    errors: dict[str, list[str]] = {}
    if payload.channel not in Channel.values:
        errors["channel"] = [f"must be one of: {', '.join(Channel.values)}"]
    if payload.purpose not in ConsentPurpose.values:
        errors["purpose"] = [f"must be one of: {', '.join(ConsentPurpose.values)}"]
    if errors:
        raise ValidationFailed(errors)
    customer = selectors.customer_get(user=request.user, pk=customer_id)
    return services.consent_set(actor=request.user, customer=customer, **payload.dict())


class ImportJobOut(Schema):
    id: int
    file_name: str
    state: str
    dry_run: bool
    skip_invalid: bool
    rows_total: int
    rows_done: int
    percent: int
    created_count: int
    updated_count: int
    rejected_count: int
    errors: list[dict[str, Any]]
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@router.post("/imports", response={202: ImportJobOut}, tags=["imports"], summary="Start a customer import")
def start_import(
    request: HttpRequest,
    file: File[UploadedFile],
    dry_run: Form[bool] = False,
    skip_invalid: Form[bool] = False,
    mapping: Form[str] = "",
) -> Status[ImportJob]:
    """Upload a CSV or XLSX file; the job runs in the background. `mapping` is JSON: {"column": "field"}."""
    _require(request, "customers.import_customers")
    try:
        parsed = json.loads(mapping) if mapping else {}
    except json.JSONDecodeError as exc:
        raise ValidationFailed({"mapping": ["is not valid JSON"]}) from exc
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise ValidationFailed({"mapping": ['must be an object {"column": "field"}']})
    job = services.import_job_create(
        actor=request.user,
        file_name=file.name or "upload",
        content=file,
        mapping=parsed,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )
    transaction.on_commit(lambda: import_customers.delay(job.pk))
    return Status(202, job)


@router.get(
    "/imports/{job_id}", response=ImportJobOut, tags=["imports"], summary="Progress and report of an import"
)
def get_import(request: HttpRequest, job_id: int) -> ImportJob:
    _require(request, "customers.import_customers")
    return selectors.import_job_with_progress(get_object_or_404(ImportJob, pk=job_id))


class ListItemOut(Schema):
    id: int
    code: str
    name_en: str
    name_fa: str
    name_ru: str
    is_active: bool


LISTS = {
    "prospect-types": ProspectType,
    "prospect-ranks": ProspectRank,
    "prospect-statuses": ProspectStatus,
    "industries": Industry,
    "product-types": ProductType,
}


@router.get(
    "/lists/{name}", response=list[ListItemOut], tags=["lists"], summary="Entries of one of the bank's lists"
)
def get_list(request: HttpRequest, name: str) -> Any:
    """`name` is one of regions, branches, prospect-types, prospect-ranks, prospect-statuses, industries, product-types."""
    from navid.accounts.models import Branch, Region

    models = {**LISTS, "regions": Region, "branches": Branch}
    if name not in models:
        raise ValidationFailed({"name": [f"must be one of: {', '.join(sorted(models))}"]})
    return models[name]._default_manager.all()
