"""REST API of sales: applications from other systems (R7.2) with their documents, and leads (R7.3)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile
from pydantic import Field

from navid.core.errors import NotFound, PermissionDenied, ValidationFailed
from navid.customers.models import ProductType
from navid.customers.selectors import customer_get
from navid.sales import selectors, services
from navid.sales.models import Application, ApplicationChannel, Lead, LeadSource
from navid.sales.requirements import DOCUMENT_MAX_BYTES, IncomingDocument
from navid.sales.workflow import NEXT_STEP

router = Router(tags=["sales"])


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


def _product(code: str) -> ProductType:
    product = ProductType.objects.filter(code=code, is_active=True).first()
    if product is None:
        raise ValidationFailed({"product": [_("Unknown product code: %(codes)s") % {"codes": code}]})
    return product


class DocumentIn(Schema):
    kind: str = Field(description="a document kind the product asks for")
    filename: str = Field(max_length=255)
    content_base64: str = Field(description=f"the file, base64; at most {DOCUMENT_MAX_BYTES} bytes")


class ApplicationIn(Schema):
    customer_id: int
    product: str = Field(description="product type code")
    channel: str = Field(
        ApplicationChannel.API.value, description="branch, contact_centre, field_agent, kiosk, api"
    )
    values: dict[str, Any] = Field(default_factory=dict, description="answers to the product's fields")
    documents: list[DocumentIn] = Field(default_factory=list)


class DocumentOut(Schema):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int


class ApplicationOut(Schema):
    id: int
    customer_id: int
    product: str
    channel: str
    status: str
    next_step: str
    values: dict[str, Any]
    submitted_on: dt.date
    decided_at: dt.datetime | None
    decision_note: str
    documents: list[DocumentOut]
    created: bool = Field(False, description="false when this request found an application already submitted")


def _application_out(application: Application, *, created: bool = False) -> ApplicationOut:
    return ApplicationOut(
        id=application.pk,
        customer_id=application.customer_id,
        product=application.product_type.code,
        channel=application.channel,
        status=application.status,
        next_step=str(NEXT_STEP[application.status]),
        values=application.values,
        submitted_on=application.submitted_on,
        decided_at=application.decided_at,
        decision_note=application.decision_note,
        documents=[
            DocumentOut(
                id=d.pk, kind=d.kind, filename=d.original_name, content_type=d.content_type, size=d.size
            )
            for d in application.documents.all()
        ],
        created=created,
    )


def _too_big() -> str:
    return _("The file is larger than %(mb)d MB.") % {"mb": DOCUMENT_MAX_BYTES // (1024 * 1024)}


def _decode(documents: list[DocumentIn]) -> list[IncomingDocument]:
    out = []
    errors: dict[str, list[str]] = {}
    for n, document in enumerate(documents):
        if len(document.content_base64) > DOCUMENT_MAX_BYTES * 4 // 3 + 8:
            errors[f"documents.{n}"] = [f"{document.filename}: {_too_big()}"]
            continue
        try:
            content = base64.b64decode(document.content_base64, validate=True)
        except (binascii.Error, ValueError):
            errors[f"documents.{n}"] = [f"{document.filename}: {_('not valid base64')}"]
            continue
        out.append(IncomingDocument(kind=document.kind, name=document.filename, content=content))
    if errors:
        raise ValidationFailed(errors)
    return out


@router.post("/applications", response={200: ApplicationOut, 201: ApplicationOut})
def create_application(request: HttpRequest, payload: ApplicationIn) -> Status:
    """Submit an application. Send an `Idempotency-Key` header: the same key (or the same customer, product and
    day) returns the application already submitted with 200 and `created: false`; a new one is 201."""
    _require(request, "sales.add_application")
    customer = customer_get(user=request.user, pk=payload.customer_id)
    application, created = services.application_submit(
        actor=request.user,
        customer=customer,
        product=_product(payload.product),
        channel=payload.channel,
        values=payload.values,
        documents=_decode(payload.documents),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return Status(201 if created else 200, _application_out(application, created=created))


def _application(request: HttpRequest, application_id: int) -> Application:
    application = selectors.applications_visible_to(user=request.user).filter(pk=application_id).first()
    if application is None:
        raise NotFound("application")
    return application


@router.get("/applications/{application_id}", response=ApplicationOut)
def get_application(request: HttpRequest, application_id: int) -> ApplicationOut:
    """One application with its status, the next step and its documents."""
    _require(request, "sales.view_application")
    return _application_out(_application(request, application_id))


@router.post("/applications/{application_id}/documents", response={201: list[DocumentOut]})
def add_documents(
    request: HttpRequest, application_id: int, kind: Form[str], file: File[UploadedFile]
) -> Status:
    """Add a document (multipart: `kind` and `file`) to an application waiting for its decision."""
    _require(request, "sales.add_application")
    application = _application(request, application_id)
    if file.size is not None and file.size > DOCUMENT_MAX_BYTES:
        raise ValidationFailed({f"documents.{kind}": [f"{file.name}: {_too_big()}"]})
    incoming = IncomingDocument(kind=kind, name=file.name or "", content=file.read())
    stored = services.application_documents_add(
        actor=request.user, application=application, documents=[incoming]
    )
    return Status(
        201,
        [
            DocumentOut(
                id=d.pk, kind=d.kind, filename=d.original_name, content_type=d.content_type, size=d.size
            )
            for d in stored
        ],
    )


class LeadIn(Schema):
    customer_id: int
    product: str | None = Field(None, description="product type code")
    source: str = LeadSource.MANUAL.value
    source_ref: str = Field("", max_length=80, description="with the source, makes creation idempotent")
    campaign_id: int | None = None
    notes: str = ""


class LeadOut(Schema):
    id: int
    customer_id: int
    product: str | None
    source: str
    stage: str
    assignee: str | None
    due_at: dt.datetime | None
    value: Decimal


def _lead_out(lead: Lead) -> LeadOut:
    return LeadOut(
        id=lead.pk,
        customer_id=lead.customer_id,
        product=lead.product_type.code if lead.product_type is not None else None,
        source=lead.source,
        stage=lead.stage,
        assignee=lead.assignee.get_username() if lead.assignee is not None else None,
        due_at=lead.due_at,
        value=lead.value,
    )


@router.post("/leads", response={201: LeadOut})
def create_lead(request: HttpRequest, payload: LeadIn) -> Status:
    """Open a lead; it is given to a manager by the distribution rules (once per source and source_ref)."""
    _require(request, "sales.add_lead")
    customer = customer_get(user=request.user, pk=payload.customer_id)
    lead = services.lead_create(
        actor=request.user,
        customer=customer,
        product=_product(payload.product) if payload.product else None,
        source=payload.source,
        source_ref=payload.source_ref,
        campaign_id=payload.campaign_id,
        notes=payload.notes,
    )
    return Status(201, _lead_out(Lead.objects.select_related("assignee", "product_type").get(pk=lead.pk)))
