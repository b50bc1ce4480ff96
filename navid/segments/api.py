"""REST API of segments under /api/v1/segments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from navid.core.errors import NotFound, PermissionDenied
from navid.customers.models import Customer
from navid.customers.presenters import national_id_for
from navid.customers.selectors import customers_visible_to
from navid.segments import rules, selectors, services
from navid.segments.models import Segment, Snapshot

router = Router(tags=["segments"])


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(perm)


class DefinitionIn(Schema):
    definition: dict[str, Any] = Field(description="A rule tree: see docs/segments.md")


class SampleCustomer(Schema):
    id: int
    display_name: str
    status: str
    region: str | None
    national_id: str


class PreviewOut(Schema):
    count: int
    sample: list[SampleCustomer]


class SegmentIn(Schema):
    name: str
    kind: str = Field("dynamic", description="dynamic (rules) or static (uploaded list)")
    description: str = ""
    definition: dict[str, Any] | None = None


class SegmentChange(Schema):
    name: str | None = None
    description: str | None = None
    definition: dict[str, Any] | None = None


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    definition: dict[str, Any]
    owner: str | None
    is_archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class SnapshotOut(Schema):
    id: int
    segment_id: int
    state: str
    requested_at: dt.datetime
    taken_at: dt.datetime | None
    member_count: int
    message: str


class WhyOut(Schema):
    path: str
    text: str
    holds: bool
    children: list[WhyOut]


class OverlapOut(Schema):
    first: int
    second: int
    both: int
    only_first: int
    only_second: int


class MembersIn(Schema):
    identifiers: list[str] = Field(description="customer numbers, national IDs or Navid ids, one per item")


class MembersOut(Schema):
    members: int


def _sample(customer: Customer, user: Any) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "display_name": customer.display_name,
        "status": customer.status,
        "region": customer.region.code if customer.region else None,
        "national_id": national_id_for(user=user, value=customer.national_id),
    }


def _preview(preview: selectors.Preview, user: Any) -> dict[str, Any]:
    return {"count": preview.count, "sample": [_sample(c, user) for c in preview.sample]}


def _out(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "kind": segment.kind,
        "definition": segment.definition,
        "owner": segment.owner.get_username() if segment.owner else None,
        "is_archived": segment.is_archived,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _segment(request: HttpRequest, segment_id: int) -> Segment:
    _require(request, "segments.view_segment")
    return get_object_or_404(Segment.objects.select_related("owner"), pk=segment_id)


@router.post("/segments/preview", response=PreviewOut, summary="Count and sample of a rule tree")
def preview(request: HttpRequest, payload: DefinitionIn) -> dict[str, Any]:
    _require(request, "segments.view_segment")
    definition = rules.definition_parse(payload.definition)
    return _preview(selectors.segment_preview(definition=definition, user=request.user), request.user)


@router.get("/segments", response=list[SegmentOut], summary="Segments")
def list_segments(request: HttpRequest, archived: bool = False) -> list[dict[str, Any]]:
    _require(request, "segments.view_segment")
    return [_out(s) for s in selectors.segments_visible(user=request.user, archived=archived)]


@router.post("/segments", response={201: SegmentOut}, summary="Create a segment")
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[dict[str, Any]]:
    _require(request, "segments.add_segment")
    segment = services.segment_create(
        actor=request.user,
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        definition=payload.definition,
    )
    return Status(201, _out(segment))


@router.get("/segments/overlap", response=OverlapOut, summary="Sizes of two segments and of their overlap")
def overlap(request: HttpRequest, first: int, second: int) -> dict[str, Any]:
    a, b = _segment(request, first), _segment(request, second)
    result = selectors.segment_overlap(first=a, second=b, user=request.user)
    return {
        "first": result.first,
        "second": result.second,
        "both": result.both,
        "only_first": result.only_first,
        "only_second": result.only_second,
    }


@router.get("/segments/{segment_id}", response=SegmentOut, summary="One segment")
def get_segment(request: HttpRequest, segment_id: int) -> dict[str, Any]:
    return _out(_segment(request, segment_id))


@router.patch("/segments/{segment_id}", response=SegmentOut, summary="Change a segment")
def change_segment(request: HttpRequest, segment_id: int, payload: SegmentChange) -> dict[str, Any]:
    segment = _segment(request, segment_id)
    _require(request, "segments.change_segment")
    services.segment_update(
        actor=request.user,
        segment=segment,
        name=payload.name,
        description=payload.description,
        definition=payload.definition,
    )
    return _out(segment)


@router.delete("/segments/{segment_id}", response=SegmentOut, summary="Archive a segment")
def archive_segment(request: HttpRequest, segment_id: int) -> dict[str, Any]:
    segment = _segment(request, segment_id)
    _require(request, "segments.delete_segment")
    return _out(services.segment_archive(actor=request.user, segment=segment))


@router.get(
    "/segments/{segment_id}/preview", response=PreviewOut, summary="Count and sample of a saved segment"
)
def preview_saved(request: HttpRequest, segment_id: int) -> dict[str, Any]:
    segment = _segment(request, segment_id)
    members = selectors.segment_members(segment=segment, user=request.user)
    sample = list(members.select_related("region").order_by("-id")[: selectors.SAMPLE_SIZE])
    return _preview(selectors.Preview(count=members.count(), sample=sample), request.user)


@router.put(
    "/segments/{segment_id}/members", response=MembersOut, summary="Upload the list of a static segment"
)
def set_members(request: HttpRequest, segment_id: int, payload: MembersIn) -> dict[str, int]:
    segment = _segment(request, segment_id)
    _require(request, "segments.change_segment")
    count = services.static_members_set(actor=request.user, segment=segment, identifiers=payload.identifiers)
    return {"members": count}


@router.get(
    "/segments/{segment_id}/why/{customer_id}", response=WhyOut, summary="Why a customer is in or out"
)
def why(request: HttpRequest, segment_id: int, customer_id: int) -> selectors.WhyNode:
    segment = _segment(request, segment_id)
    customer = customers_visible_to(user=request.user).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(customer_id)
    if segment.kind == Segment.Kind.STATIC:
        holds = segment.static_members.filter(customer=customer).exists()
        return selectors.WhyNode(path="root", text=segment.name, holds=holds)
    definition = rules.definition_parse(segment.definition)
    return selectors.segment_why(definition=definition, customer=customer, user=request.user)


@router.post(
    "/segments/{segment_id}/snapshots", response={202: SnapshotOut}, summary="Freeze the membership now"
)
def take_snapshot(request: HttpRequest, segment_id: int) -> Status[Snapshot]:
    segment = _segment(request, segment_id)
    _require(request, "segments.snapshot_segment")
    snapshot = services.snapshot_request(actor=request.user, segment=segment)
    snapshot.refresh_from_db()
    return Status(202, snapshot)


@router.get("/segments/{segment_id}/snapshots", response=list[SnapshotOut], summary="Snapshots of a segment")
def list_snapshots(request: HttpRequest, segment_id: int) -> list[Snapshot]:
    segment = _segment(request, segment_id)
    return list(segment.snapshots.all()[:100])
