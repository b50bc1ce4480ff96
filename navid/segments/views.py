"""Pages of segments: the list, the rule builder, a segment's page (rules in words, count, why, snapshots,
overlap, archive, the uploaded list of a static segment)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from navid.core.errors import Conflict, ValidationFailed
from navid.core.text import digits_only, to_ascii_digits
from navid.customers.models import Customer
from navid.customers.presenters import national_id_for
from navid.customers.selectors import customers_visible_to
from navid.segments import rules, selectors, services
from navid.segments.describe import describe
from navid.segments.forms import SegmentForm, StaticMembersForm, builder_options
from navid.segments.models import Segment

PAGE_SIZE = 50
SNAPSHOTS_SHOWN = 20
EMPTY_TREE: dict[str, Any] = {
    "version": rules.GRAMMAR_VERSION,
    "root": {"type": "group", "op": "and", "children": []},
}


def _htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _segment(pk: int) -> Segment:
    return get_object_or_404(Segment.objects.select_related("owner"), pk=pk)


# --- the rules in words ---


@dataclass
class RuleLine:
    """One node of a rule tree in words, with the nodes under it."""

    text: str
    children: list[RuleLine] = field(default_factory=list)
    segment: Segment | None = None


def rules_in_words(definition: Any) -> tuple[RuleLine | None, str]:
    """The saved tree as lines of text, or the reason it cannot be read."""
    if not definition:
        return None, ""
    try:
        tree = rules.definition_parse(definition)
    except ValidationFailed as exc:
        return None, str(exc)
    referenced = Segment.objects.in_bulk(list(rules.referenced_segments(tree.root)))

    def line(node: Any) -> RuleLine:
        other = referenced.get(node.segment_id) if isinstance(node, rules.SegmentCondition) else None
        children = [line(child) for child in getattr(node, "children", ())]
        return RuleLine(text=describe(node), children=children, segment=other)

    return line(tree.root), ""


# --- list ---


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    paginator = Paginator(selectors.segments_visible(user=request.user, archived=archived), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "page": page,
        "archived": archived,
        "query": "archived=1" if archived else "",
        "active": "segments",
    }
    return render(request, "segments/list.html", context)


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    """How many customers a segment has now (a fragment for the list's "count" button)."""
    segment = _segment(pk)
    try:
        count: int | None = selectors.segment_members(segment=segment, user=request.user).count()
        problem = ""
    except ValidationFailed as exc:
        count, problem = None, str(exc)
    return render(request, "segments/_count.html", {"segment": segment, "count": count, "problem": problem})


# --- the builder ---


def _builder(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    """New or changed rules: a form of name, description and the tree as JSON, which the script edits."""
    initial = {"name": segment.name, "description": segment.description} if segment else {}
    form = SegmentForm(request.POST or None, initial=initial)
    tree: Any = segment.definition if segment and segment.definition else EMPTY_TREE
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            tree = json.loads(request.POST.get("definition") or "null")
        except ValueError:
            errors["definition"] = [_("The rules sent could not be read.")]
        if form.is_valid() and not errors:
            try:
                if segment is None:
                    segment = services.segment_create(
                        actor=request.user,
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        definition=tree,
                    )
                else:
                    services.segment_update(
                        actor=request.user,
                        segment=segment,
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        definition=tree,
                    )
            except ValidationFailed as exc:
                for path, reasons in exc.errors.items():
                    if path in form.fields:
                        for reason in reasons:
                            form.add_error(path, reason)
                    else:
                        errors.setdefault(path, []).extend(reasons)
            else:
                messages.success(request, _("Saved."))
                return redirect("segments:detail", pk=segment.pk)
    saved_rules, unreadable = rules_in_words(segment.definition) if segment else (None, "")
    options = builder_options(
        segment=segment,
        preview_url=reverse("api-v1:preview"),
        customer_url=reverse("customers:detail", kwargs={"pk": 0}),
    )
    context = {
        "segment": segment,
        "form": form,
        "definition_json": json.dumps(tree, ensure_ascii=False),
        "errors": errors,
        "options": options,
        "saved_rules": saved_rules,
        "unreadable": unreadable,
        "active": "segments",
    }
    return render(request, "segments/builder.html", context)


def _static_form(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    """A static segment's name and description (its members are uploaded on its page)."""
    initial = {"name": segment.name, "description": segment.description} if segment else {}
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if segment is None:
                segment = services.segment_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    kind=Segment.Kind.STATIC,
                )
            else:
                services.segment_update(
                    actor=request.user,
                    segment=segment,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
        except ValidationFailed as exc:
            for path, reasons in exc.errors.items():
                for reason in reasons:
                    form.add_error(path if path in form.fields else None, reason)
        else:
            messages.success(request, _("Saved."))
            return redirect("segments:detail", pk=segment.pk)
    return render(
        request, "segments/static_form.html", {"form": form, "segment": segment, "active": "segments"}
    )


@login_required
@permission_required("segments.add_segment", raise_exception=True)
def segment_create(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@login_required
@permission_required("segments.add_segment", raise_exception=True)
def static_segment_create(request: HttpRequest) -> HttpResponse:
    return _static_form(request, None)


@login_required
@permission_required("segments.change_segment", raise_exception=True)
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(pk)
    if segment.kind == Segment.Kind.STATIC:
        return _static_form(request, segment)
    return _builder(request, segment)


# --- a segment's page ---


def _find_customer(user: Any, text: str) -> Customer | None:
    """The customer an identifier names, among those the user sees: external ID, national ID or Navid id."""
    text = text.strip()[:100]
    if not text:
        return None
    visible = customers_visible_to(user=user)
    found = visible.filter(external_id=text).first()
    digits = digits_only(text)
    if found is None and digits:
        found = visible.filter(national_id=digits).first()
    plain = to_ascii_digits(text)
    if found is None and plain.isascii() and plain.isdigit() and len(plain) < 18:
        found = visible.filter(pk=int(plain)).first()
    return found


def _why(request: HttpRequest, segment: Segment, text: str) -> dict[str, Any]:
    """Which conditions hold for the customer named by `text`, node by node."""
    customer = _find_customer(request.user, text)
    if customer is None:
        return {"why_shown": True, "why_asked": text, "why_customer": None}
    if segment.kind == Segment.Kind.STATIC:
        holds = segment.static_members.filter(customer=customer).exists()
        tree = selectors.WhyNode(path="root", text=segment.name, holds=holds)
    else:
        try:
            definition = rules.definition_parse(segment.definition)
            tree = selectors.segment_why(definition=definition, customer=customer, user=request.user)
        except ValidationFailed as exc:
            return {"why_shown": True, "why_asked": text, "why_customer": customer, "why_problem": str(exc)}
    return {"why_shown": True, "why_asked": text, "why_customer": customer, "why": tree}


def _overlap(request: HttpRequest, segment: Segment, other_id: str) -> dict[str, Any]:
    other = Segment.objects.filter(pk=int(other_id)).first() if other_id.isdigit() else None
    if other is None:
        return {"overlap_other": None, "overlap_asked": True}
    try:
        overlap = selectors.segment_overlap(first=segment, second=other, user=request.user)
    except ValidationFailed as exc:
        return {"overlap_other": other, "overlap_asked": True, "overlap_problem": str(exc)}
    return {"overlap_other": other, "overlap_asked": True, "overlap": overlap}


def _snapshots(segment: Segment) -> dict[str, Any]:
    shown = list(segment.snapshots.select_related("requested_by")[:SNAPSHOTS_SHOWN])
    waiting = any(s.state in {s.State.PENDING, s.State.RUNNING} for s in shown)
    return {"segment": segment, "snapshots": shown, "waiting": waiting}


def _detail(
    request: HttpRequest, segment: Segment, *, upload_form: StaticMembersForm | None = None
) -> HttpResponse:
    context: dict[str, Any] = {"segment": segment, "active": "segments"}
    context["rules"], context["unreadable"] = rules_in_words(
        segment.definition if segment.kind == Segment.Kind.DYNAMIC else None
    )
    try:
        members = selectors.segment_members(segment=segment, user=request.user)
        sample = list(members.select_related("region").order_by("-id")[: selectors.SAMPLE_SIZE])
        context["count"] = members.count()
        context["sample"] = [(c, national_id_for(user=request.user, value=c.national_id)) for c in sample]
    except ValidationFailed as exc:
        context["count"], context["sample"], context["count_problem"] = None, [], str(exc)
    context.update(_snapshots(segment))
    context["others"] = (
        Segment.objects.filter(is_archived=False).exclude(pk=segment.pk).order_by("name", "id")
    )
    if "customer" in request.GET:
        context.update(_why(request, segment, request.GET["customer"]))
    if request.GET.get("other"):
        context.update(_overlap(request, segment, request.GET["other"]))
    if segment.kind == Segment.Kind.STATIC:
        context["upload_form"] = upload_form or StaticMembersForm()
    return render(request, "segments/detail.html", context)


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _segment(pk))


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_why(request: HttpRequest, pk: int) -> HttpResponse:
    """Why a customer is in or out (a fragment for htmx; the segment's page without it)."""
    segment = _segment(pk)
    if not _htmx(request):
        return redirect(f"{reverse('segments:detail', kwargs={'pk': pk})}?{request.GET.urlencode()}#why")
    return render(
        request,
        "segments/_why.html",
        {"segment": segment, **_why(request, segment, request.GET.get("customer", ""))},
    )


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_overlap(request: HttpRequest, pk: int) -> HttpResponse:
    """Sizes of this segment, another and both (a fragment for htmx; the segment's page without it)."""
    segment = _segment(pk)
    if not _htmx(request):
        return redirect(f"{reverse('segments:detail', kwargs={'pk': pk})}?{request.GET.urlencode()}#overlap")
    context = {"segment": segment, **_overlap(request, segment, request.GET.get("other", ""))}
    return render(request, "segments/_overlap.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_snapshots(request: HttpRequest, pk: int) -> HttpResponse:
    """The list of snapshots (polled while one is being taken); POST asks for a new one."""
    segment = _segment(pk)
    if request.method == "POST":
        if not request.user.has_perm("segments.snapshot_segment"):
            raise PermissionDenied
        services.snapshot_request(actor=request.user, segment=segment)
        if not _htmx(request):
            messages.success(
                request, _("The membership is being frozen; the snapshot appears below when done.")
            )
            return redirect(f"{reverse('segments:detail', kwargs={'pk': pk})}#snapshots")
    elif not _htmx(request):
        return redirect(f"{reverse('segments:detail', kwargs={'pk': pk})}#snapshots")
    return render(request, "segments/_snapshots.html", _snapshots(segment))


@require_POST
@login_required
@permission_required("segments.delete_segment", raise_exception=True)
def segment_archive(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(pk)
    try:
        services.segment_archive(actor=request.user, segment=segment)
    except Conflict as exc:
        messages.error(request, str(exc))
        return redirect("segments:detail", pk=segment.pk)
    messages.success(request, _("Archived: %(name)s") % {"name": segment.name})
    return redirect("segments:list")


@require_POST
@login_required
@permission_required("segments.change_segment", raise_exception=True)
def static_members_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace the members of a static segment by an uploaded list; all or nothing, with the bad lines shown."""
    segment = _segment(pk)
    form = StaticMembersForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            count = services.static_members_set(
                actor=request.user, segment=segment, identifiers=form.cleaned_data["lines"]
            )
        except ValidationFailed as exc:
            for reasons in exc.errors.values():
                for reason in reasons:
                    form.add_error(None, reason)
        else:
            messages.success(request, _("The segment now has %(count)s members.") % {"count": count})
            return redirect("segments:detail", pk=segment.pk)
    return _detail(request, segment, upload_form=form)
