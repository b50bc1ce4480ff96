"""Pages of loyalty: rules and tiers (with their offers), a customer's statement and redemption."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Customer
from navid.customers.selectors import customer_get
from navid.loyalty import selectors, services
from navid.loyalty.forms import EarnRuleForm, RedeemForm, TierForm
from navid.loyalty.models import EarnRule, Tier

FRAGMENT_PAGE_SIZE = 10  # lines of the ledger on the customer page; the full statement pages by 20


def _form_errors(form: Any, exc: ValidationFailed) -> None:
    for key, reasons in exc.errors.items():
        for reason in reasons:
            form.add_error(key if key in form.fields else None, reason)


@login_required
@permission_required("loyalty.view_tier", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    context = {"rules": selectors.earn_rules_list(), "tiers": selectors.tiers_list(), "active": "loyalty"}
    return render(request, "loyalty/overview.html", context)


def _rule_form(request: HttpRequest, rule: EarnRule | None) -> HttpResponse:
    form = EarnRuleForm(request.POST or None, initial=EarnRuleForm.initial_of(rule) if rule else None)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                services.earn_rule_create(actor=request.user, values=form.cleaned_data)
            else:
                services.earn_rule_update(actor=request.user, rule=rule, values=form.cleaned_data)
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The earn rule was saved."))
            return redirect("loyalty:overview")
    title = _("Edit earn rule") if rule else _("New earn rule")
    return render(request, "loyalty/form.html", {"form": form, "title": title, "active": "loyalty"})


@login_required
@permission_required("loyalty.add_earnrule", raise_exception=True)
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, None)


@login_required
@permission_required("loyalty.change_earnrule", raise_exception=True)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form(request, get_object_or_404(EarnRule, pk=pk))


def _tier_form(request: HttpRequest, tier: Tier | None) -> HttpResponse:
    form = TierForm(request.POST or None, initial=TierForm.initial_of(tier) if tier else None)
    if request.method == "POST" and form.is_valid():
        values = {**form.cleaned_data, "offers": list(form.cleaned_data["offers"])}
        try:
            if tier is None:
                services.tier_create(actor=request.user, values=values)
            else:
                services.tier_update(actor=request.user, tier=tier, values=values)
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The tier was saved."))
            return redirect("loyalty:overview")
    title = _("Edit tier") if tier else _("New tier")
    return render(request, "loyalty/form.html", {"form": form, "title": title, "active": "loyalty"})


@login_required
@permission_required("loyalty.add_tier", raise_exception=True)
def tier_create(request: HttpRequest) -> HttpResponse:
    return _tier_form(request, None)


@login_required
@permission_required("loyalty.change_tier", raise_exception=True)
def tier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _tier_form(request, get_object_or_404(Tier, pk=pk))


def _customer(request: HttpRequest, pk: int) -> Customer:
    try:
        customer: Customer = customer_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    return customer


def _statement(request: HttpRequest, customer: Customer, form: RedeemForm | None = None) -> HttpResponse:
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    fragment = request.headers.get("HX-Request") == "true"
    size = FRAGMENT_PAGE_SIZE if fragment else selectors.STATEMENT_PAGE_SIZE
    context = {
        "customer": customer,
        "statement": selectors.points_statement(customer=customer, page=page, page_size=size),
        "loyalty_index": selectors.loyalty_index_parts(customer=customer),
        "redeem_form": form or RedeemForm(initial={"idempotency_key": uuid.uuid4().hex}),
        "active": "customers",
    }
    return render(request, "loyalty/_statement.html" if fragment else "loyalty/statement.html", context)


@login_required
@permission_required("loyalty.view_pointsentry", raise_exception=True)
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer's points statement and loyalty index: a fragment of the customer page, or a page of its own."""
    return _statement(request, _customer(request, pk))


@login_required
@permission_required("loyalty.redeem_points", raise_exception=True)
@require_POST
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    form = RedeemForm(request.POST)
    if form.is_valid():
        try:
            services.points_redeem(
                customer=customer,
                points=form.cleaned_data["points"],
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
                note=form.cleaned_data["note"],
            )
        except ValidationFailed as exc:
            _form_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The points were redeemed."))
            return redirect("loyalty:statement", pk=customer.pk)
    return _statement(request, customer, form)
