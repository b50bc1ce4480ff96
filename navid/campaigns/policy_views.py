"""The contact policy page: segment managers read and change the bank's one contact policy (R4.3, R9)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from navid.campaigns.policy import contact_policy_get, contact_policy_update
from navid.campaigns.policy_forms import ContactPolicyForm
from navid.core.errors import ValidationFailed


@login_required
@permission_required("campaigns.view_contactpolicy", raise_exception=True)
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest) -> HttpResponse:
    policy = contact_policy_get()
    can_change = request.user.has_perm("campaigns.change_contactpolicy")
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = ContactPolicyForm(request.POST)
        if form.is_valid():
            try:
                contact_policy_update(actor=request.user, values=form.cleaned_data)
            except ValidationFailed as exc:
                for field, reasons in exc.errors.items():
                    for reason in reasons:
                        form.add_error(field if field in form.fields else None, reason)
            else:
                messages.success(request, _("The contact policy was saved."))
                return redirect("campaign_policy:edit")
    else:
        form = ContactPolicyForm(initial=ContactPolicyForm.initial_from(policy), read_only=not can_change)
    return render(
        request, "campaigns/policy.html", {"form": form, "policy": policy, "can_change": can_change}
    )
