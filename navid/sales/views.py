"""Pages of sales: the follow-ups a user works, one follow-up with its progress, and how they are worked."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navid.core.errors import Conflict, ValidationFailed
from navid.sales import selectors, services
from navid.sales.models import FollowUpSource, FollowUpStatus

PAGE_SIZE = 50


@login_required
@permission_required("sales.view_followup", raise_exception=True)
def followup_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    source = request.GET.get("source", "")
    filters: dict[str, Any] = {
        "status": status if status in FollowUpStatus.values else "",
        "source": source if source in FollowUpSource.values else "",
        "mine": request.GET.get("mine") == "1",
        "overdue": request.GET.get("overdue") == "1",
    }
    qs = selectors.followup_list(
        user=request.user,
        status=filters["status"],
        source=filters["source"],
        mine=filters["mine"],
        overdue=filters["overdue"],
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: ("1" if v is True else str(v)) for k, v in filters.items() if v}
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "statuses": FollowUpStatus.choices,
        "sources": FollowUpSource.choices,
        "report": selectors.followup_report(user=request.user),
        "query": urlencode(query),
        "active": "follow-ups",
    }
    return render(request, "sales/followup_list.html", context)


@login_required
@permission_required("sales.view_followup", raise_exception=True)
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_object_or_404(selectors.followups_visible_to(user=request.user), pk=pk)
    context = {
        "followup": followup,
        "can_change": request.user.has_perm("sales.change_followup"),
        "statuses": FollowUpStatus,
        "active": "follow-ups",
    }
    return render(request, "sales/followup_detail.html", context)


@login_required
@permission_required("sales.change_followup", raise_exception=True)
@require_POST
def followup_progress(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_object_or_404(selectors.followups_visible_to(user=request.user), pk=pk)
    try:
        services.followup_progress(
            actor=request.user,
            followup=followup,
            status=request.POST.get("status", ""),
            outcome=request.POST.get("outcome", ""),
        )
    except ValidationFailed as exc:
        messages.error(request, " ".join(str(r) for reasons in exc.errors.values() for r in reasons))
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, _("The follow-up is updated."))
    return redirect("sales:followup-detail", pk=followup.pk)
