"""Pages of offers: the catalogue, offers, eligibility rules, the two matrices, model quality, next best offers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navid.core.errors import NotFound, ValidationFailed
from navid.customers.models import Customer, ProductType
from navid.customers.selectors import customer_get
from navid.offers import selectors, services
from navid.offers.forms import OfferForm, RulesForm
from navid.offers.models import Offer, ProductRule, ProductSegmentTarget
from navid.offers.nbo import next_best_offers_for_customer

NBO_SHOWN = 5


def _form_errors(form: Any, exc: ValidationFailed) -> None:
    for key, reasons in exc.errors.items():
        for reason in reasons:
            form.add_error(key if key in form.fields else None, reason)


@login_required
@permission_required("offers.view_offer", raise_exception=True)
def catalogue(request: HttpRequest) -> HttpResponse:
    context = {"rows": selectors.catalogue(), "offers": selectors.offers_list(), "active": "offers"}
    return render(request, "offers/catalogue.html", context)


def _offer_form(request: HttpRequest, offer: Offer | None) -> HttpResponse:
    form = OfferForm(request.POST or None, instance=offer)
    if request.method == "POST" and form.is_valid():
        values = {**form.cleaned_data}
        try:
            if offer is None:
                services.offer_create(actor=request.user, values=values)
            else:
                services.offer_update(actor=request.user, offer=offer, values=values)
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The offer was saved."))
            return redirect("offers:catalogue")
    return render(request, "offers/offer_form.html", {"form": form, "offer": offer, "active": "offers"})


@login_required
@permission_required("offers.add_offer", raise_exception=True)
def offer_create(request: HttpRequest) -> HttpResponse:
    return _offer_form(request, None)


@login_required
@permission_required("offers.change_offer", raise_exception=True)
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _offer_form(request, get_object_or_404(Offer, pk=pk))


@login_required
@permission_required("offers.change_productrule", raise_exception=True)
def product_rules(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(ProductType, pk=pk)
    row = ProductRule.objects.filter(product_type=product).first()
    form = RulesForm(request.POST or None, initial=row.rules if row else {})
    if request.method == "POST" and form.is_valid():
        try:
            services.product_rules_set(actor=request.user, product=product, rules=form.rules())
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The eligibility rules were saved."))
            return redirect("offers:catalogue")
    return render(request, "offers/rules_form.html", {"form": form, "product": product, "active": "offers"})


@login_required
@permission_required("offers.view_productsegmenttarget", raise_exception=True)
def product_segment_matrix(request: HttpRequest) -> HttpResponse:
    products, rows = selectors.product_segment_matrix()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not request.user.has_perm("offers.edit_product_segment_matrix"):
            raise Http404  # the page without the form is all this user may see
        cells: dict[tuple[int, int], int | None] = {}
        for row in rows:
            for product, _priority in row.cells:
                raw = request.POST.get(f"cell-{row.segment.pk}-{product.pk}", "")
                if raw == "":
                    cells[(row.segment.pk, product.pk)] = None
                elif raw.isdigit():
                    cells[(row.segment.pk, product.pk)] = int(raw)
                else:
                    errors.setdefault(f"cell {row.segment.pk}-{product.pk}", []).append(
                        _("Priority must be 1, 2 or 3.")
                    )
        if not errors:
            try:
                changed = services.product_segment_matrix_set(actor=request.user, cells=cells)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                messages.success(request, _("%(count)s cells changed.") % {"count": changed})
                return redirect("offers:matrix")
    context = {
        "products": products,
        "rows": rows,
        "priorities": ProductSegmentTarget.Priority.choices,
        "errors": errors,
        "active": "offers",
    }
    return render(request, "offers/matrix.html", context, status=422 if errors else 200)


@login_required
@permission_required("offers.view_crossproductstat", raise_exception=True)
def cross_product(request: HttpRequest) -> HttpResponse:
    return render(
        request, "offers/cross_product.html", {"heat": selectors.cross_product_heat_map(), "active": "offers"}
    )


@login_required
@permission_required("offers.view_propensitymodel", raise_exception=True)
def models(request: HttpRequest) -> HttpResponse:
    return render(request, "offers/models.html", {"models": selectors.model_quality(), "active": "offers"})


@login_required
@require_POST
@permission_required("offers.train_propensity_models", raise_exception=True)
def retrain(request: HttpRequest) -> HttpResponse:
    services.retraining_request(actor=request.user)
    messages.success(request, _("Retraining and the cross-product matrix were scheduled."))
    return redirect("offers:models")


@login_required
@permission_required("offers.view_next_best_offers", raise_exception=True)
def customer_next_best_offers(request: HttpRequest, pk: int) -> HttpResponse:
    """The next best offers of one customer: a fragment loaded into the customer page."""
    try:
        customer: Customer = customer_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    recommendations = next_best_offers_for_customer(customer=customer, limit=NBO_SHOWN)
    return render(
        request, "offers/_next_best_offers.html", {"customer": customer, "recommendations": recommendations}
    )
