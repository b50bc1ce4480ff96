"""Staff pages of event campaigns: the events, a new event, the guest list with check-in, QR badges, no-shows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from navid.campaigns import events
from navid.campaigns.models import Campaign, CampaignChannel, Event, Invitation, State
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed

PAGE_SIZE = 50
_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class EventForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    place = forms.CharField(label=gettext_lazy("Place"), max_length=300)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts at"),
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends at"),
        required=False,
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("Seats"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Empty means no limit."),
    )


def _event(pk: int) -> Event:
    return get_object_or_404(Event.objects.select_related("campaign"), pk=pk)


@login_required
@permission_required("campaigns.view_event", raise_exception=True)
def event_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Event.objects.select_related("campaign"), PAGE_SIZE).get_page(request.GET.get("page"))
    # Event campaigns still waiting for their event, so the planner can create it from here.
    waiting = (
        Campaign.objects.filter(channel_plans__channel=CampaignChannel.EVENT, event__isnull=True)
        .exclude(state__in=[State.COMPLETED, State.STOPPED, State.REJECTED])
        .order_by("-id")[:PAGE_SIZE]
        if request.user.has_perm("campaigns.add_event")
        else []
    )
    return render(
        request, "campaigns/events/list.html", {"page": page, "waiting": waiting, "active": "events"}
    )


@login_required
@permission_required("campaigns.add_event", raise_exception=True)
@require_http_methods(["GET", "POST"])
def event_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = EventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            event = events.event_create(actor=request.user, campaign=campaign, **form.cleaned_data)
        except ValidationFailed as exc:
            for name, reasons in exc.errors.items():
                for reason in reasons:
                    form.add_error(name if name in form.fields else None, reason)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The event is created."))
            return redirect("campaign_events:detail", pk=event.pk)
    return render(
        request, "campaigns/events/form.html", {"form": form, "campaign": campaign, "active": "events"}
    )


def _local_input(value: Any) -> str:
    """A stored moment as the `datetime-local` field shows it, in the bank's time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


@login_required
@permission_required("campaigns.change_event", raise_exception=True)
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(pk)
    initial = {
        "title": event.title,
        "place": event.place,
        "starts_at": _local_input(event.starts_at),
        "ends_at": _local_input(event.ends_at),
        "capacity": event.capacity,
    }
    form = EventForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            events.event_update(actor=request.user, event=event, **form.cleaned_data)
        except ValidationFailed as exc:
            for name, reasons in exc.errors.items():
                for reason in reasons:
                    form.add_error(name if name in form.fields else None, reason)
        except (Conflict, PermissionDenied) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The event is saved."))
            return redirect("campaign_events:detail", pk=event.pk)
    return render(
        request,
        "campaigns/events/form.html",
        {"form": form, "campaign": event.campaign, "event": event, "active": "events"},
    )


@login_required
@permission_required("campaigns.view_event", raise_exception=True)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The guest list: search, check-in buttons, a field for the scanned QR code, the counts."""
    event = _event(pk)
    query = request.GET.get("q", "")
    page = Paginator(events.event_guests(event=event, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context: dict[str, Any] = {
        "event": event,
        "page": page,
        "q": query,
        "counts": events.event_counts(event=event),
        "can_check_in": request.user.has_perm(events.CHECK_IN_PERMISSION),
        "active": "events",
        "query": f"q={query}" if query else "",
    }
    return render(request, "campaigns/events/detail.html", context)


def _back(request: HttpRequest, event: Event) -> HttpResponse:
    url = reverse("campaign_events:detail", kwargs={"pk": event.pk})
    query = request.POST.get("q", "")
    return redirect(f"{url}?q={query}" if query else url)


@login_required
@permission_required(events.CHECK_IN_PERMISSION, raise_exception=True)
@require_POST
def guest_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Check in the guest chosen in the list (`invitation`) or whose QR code was scanned (`code`)."""
    event = _event(pk)
    try:
        if request.POST.get("code", "").strip():
            invitation = events.invitation_from_code(event=event, code=request.POST["code"])
        else:
            invitation = get_object_or_404(Invitation, pk=request.POST.get("invitation") or 0, event=event)
        invitation = events.invitation_check_in(actor=request.user, invitation=invitation)
    except PermissionDenied as exc:
        raise HttpForbidden(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, " ".join(str(r) for reasons in exc.errors.values() for r in reasons))
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        customer = invitation.customer
        messages.success(
            request,
            _("%(name)s is checked in.")
            % {"name": customer.organisation_name or f"{customer.first_name} {customer.last_name}".strip()},
        )
    return _back(request, event)


@login_required
@permission_required(events.CHECK_IN_PERMISSION, raise_exception=True)
@require_POST
def event_no_shows(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(pk)
    try:
        marked = events.event_no_shows_mark(actor=request.user, event=event)
    except PermissionDenied as exc:
        raise HttpForbidden(str(exc)) from exc
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, _("%(count)s guests marked as not come.") % {"count": marked})
    return _back(request, event)


@login_required
@permission_required("campaigns.change_event", raise_exception=True)
@require_POST
def event_guests_sync(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(pk)
    added = events.event_invitations_sync(event_id=event.pk)
    messages.success(request, _("%(count)s customers added to the guest list.") % {"count": added})
    return _back(request, event)


@login_required
@permission_required("campaigns.view_event", raise_exception=True)
def guest_badge(request: HttpRequest, pk: int, invitation_id: int) -> HttpResponse:
    """A printable badge with the guest's name and QR code."""
    event = _event(pk)
    invitation = get_object_or_404(
        Invitation.objects.select_related("customer"), pk=invitation_id, event=event
    )
    context = {
        "event": event,
        "invitation": invitation,
        "qr_svg": events.invitation_qr_svg(invitation_id=invitation.pk),
        "active": "events",
    }
    return render(request, "campaigns/events/badge.html", context)
