"""Pages of the accounts app: the audit log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from navid.accounts.models import AuditAction, AuditEntry


@login_required
@permission_required("accounts.view_auditentry", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = AuditEntry.objects.select_related("actor")
    action = request.GET.get("action", "")
    if action in AuditAction.values:
        qs = qs.filter(action=action)
    if record := request.GET.get("record", "").strip():
        qs = qs.filter(record_id=record)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit.html",
        {"page": page, "actions": AuditAction.choices, "action": action, "record": record},
    )
