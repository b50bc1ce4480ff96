"""Reads of segments: members, preview, why a customer is in or out, overlap."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from navid.customers.models import Customer
from navid.customers.selectors import customers_visible_to
from navid.segments import rules
from navid.segments.compiler import Context, compile_definition, compile_node
from navid.segments.describe import describe
from navid.segments.models import Segment, StaticMember

SAMPLE_SIZE = 20


def _base(user: Any) -> QuerySet[Customer]:
    """Customers `user` may see; with no user (a scheduled job, a campaign's own snapshot) every live customer."""
    if user is None:
        return Customer.objects.filter(deleted_at__isnull=True)
    return customers_visible_to(user=user)


def segment_queryset(
    *, definition: rules.SegmentDefinition, user: Any, now: dt.datetime | None = None
) -> QuerySet[Customer]:
    """The customers of a rule tree that `user` may see, as one query."""
    context = Context(now=now) if now is not None else Context()
    return _base(user).filter(compile_definition(definition, context=context))


def segment_members(*, segment: Segment, user: Any, now: dt.datetime | None = None) -> QuerySet[Customer]:
    """The current members of a saved segment: its rules evaluated now, or its uploaded list."""
    if segment.kind == Segment.Kind.STATIC:
        ids = StaticMember.objects.filter(segment=segment).values("customer_id")
        return _base(user).filter(pk__in=ids)
    definition = rules.definition_parse(segment.definition)
    context = Context(now=now, stack=(segment.pk,)) if now is not None else Context(stack=(segment.pk,))
    return _base(user).filter(compile_definition(definition, context=context))


@dataclass
class Preview:
    count: int
    sample: list[Customer]


def segment_preview(*, definition: rules.SegmentDefinition, user: Any) -> Preview:
    """How many customers a tree selects, and the newest few of them."""
    members = segment_queryset(definition=definition, user=user)
    sample = list(members.select_related("region", "branch").order_by("-id")[:SAMPLE_SIZE])
    count = len(sample) if len(sample) < SAMPLE_SIZE else members.count()
    return Preview(count=count, sample=sample)


@dataclass
class WhyNode:
    """One node of a tree with whether it held for the customer."""

    path: str
    text: str
    holds: bool
    children: list[WhyNode] = field(default_factory=list)


def segment_why(
    *, definition: rules.SegmentDefinition, customer: Customer, user: Any, now: dt.datetime | None = None
) -> WhyNode:
    """For one customer, which conditions held and which did not, node by node."""
    context = Context(now=now) if now is not None else Context()
    one = _base(user).filter(pk=customer.pk)

    def visit(node: Any, path: str) -> WhyNode:
        holds = one.filter(compile_node(node, path, context)).exists()
        children = [
            visit(child, f"{path}.children.{i}") for i, child in enumerate(getattr(node, "children", ()))
        ]
        return WhyNode(path=path, text=describe(node), holds=holds, children=children)

    return visit(definition.root, "root")


@dataclass
class Overlap:
    first: int
    second: int
    both: int

    @property
    def only_first(self) -> int:
        return self.first - self.both

    @property
    def only_second(self) -> int:
        return self.second - self.both


def segment_overlap(*, first: Segment, second: Segment, user: Any) -> Overlap:
    """Sizes of two segments and of their intersection."""
    a = segment_members(segment=first, user=user)
    b = segment_members(segment=second, user=user)
    return Overlap(first=a.count(), second=b.count(), both=a.filter(pk__in=b.values("pk")).count())


def segments_visible(*, user: Any, archived: bool = False) -> QuerySet[Segment]:
    """Segments a user may open (every user with the view permission sees every segment)."""
    return Segment.objects.filter(is_archived=archived).select_related("owner")
