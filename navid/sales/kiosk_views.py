"""The self-service kiosk (R7.2): a tablet page without staff login, unlocked by a kiosk device key.

An administrator registers the tablet (admin: Kiosk devices) and types its key once on /sales/kiosk/setup/; the
key is kept in a signed, HTTP-only cookie and checked against its digest on every request. A customer
identifies with national ID and phone (both must match), or applies as a new prospect; the customer chosen is
kept in the session for KIOSK_SESSION_SECONDS. Forms carry Django's CSRF token like every other page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.core.errors import NotFound, ValidationFailed
from navid.core.text import digits_only
from navid.customers.models import ConversionEvent, Customer, ProductType
from navid.customers.services import customer_create
from navid.sales import services, workflow
from navid.sales.models import Application, ApplicationChannel, KioskDevice
from navid.sales.views import application_form_context, form_number, submit_from_request

COOKIE = "navid_kiosk"
COOKIE_SALT = "navid.sales.kiosk"
SESSION_CUSTOMER = "kiosk_customer"
SESSION_SINCE = "kiosk_since"
SESSION_DONE = "kiosk_done"
KIOSK_SESSION_SECONDS = 15 * 60


def _device(request: HttpRequest) -> KioskDevice | None:
    try:
        key = request.get_signed_cookie(COOKIE, salt=COOKIE_SALT)
    except (KeyError, BadSignature):
        return None
    return services.kiosk_device_authenticate(key=key or "")


def _locked(request: HttpRequest) -> HttpResponse:
    return render(request, "sales/kiosk_locked.html", {}, status=403)


def _session_customer(request: HttpRequest) -> Customer | None:
    pk = request.session.get(SESSION_CUSTOMER)
    since = request.session.get(SESSION_SINCE, 0)
    if pk is None or timezone.now().timestamp() - since > KIOSK_SESSION_SECONDS:
        return None
    return Customer.objects.filter(pk=pk, deleted_at__isnull=True).first()


def _begin(request: HttpRequest, customer: Customer) -> HttpResponse:
    request.session.cycle_key()
    request.session[SESSION_CUSTOMER] = customer.pk
    request.session[SESSION_SINCE] = timezone.now().timestamp()
    return redirect("sales:kiosk-apply")


def kiosk_setup(request: HttpRequest) -> HttpResponse:
    """An administrator unlocks this tablet with the kiosk's key (shown once when the kiosk was registered)."""
    error = ""
    if request.method == "POST":
        key = request.POST.get("key", "").strip()
        device = services.kiosk_device_authenticate(key=key)
        if device is None:
            error = _("This key does not belong to an active kiosk.")
        else:
            response = redirect("sales:kiosk")
            response.set_signed_cookie(
                COOKIE,
                key,
                salt=COOKIE_SALT,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Strict",
                secure=settings.SESSION_COOKIE_SECURE,
            )
            return response
    return render(request, "sales/kiosk_setup.html", {"error": error}, status=422 if error else 200)


def kiosk_start(request: HttpRequest) -> HttpResponse:
    """Step 1: who is applying: a customer (national ID + phone) or someone new."""
    device = _device(request)
    if device is None:
        return _locked(request)
    errors: dict[str, list[str]] = {}
    status = 422
    mode = request.POST.get("mode", "existing")
    if request.method == "POST":
        national_id = request.POST.get("national_id", "")
        phone = request.POST.get("phone", "")
        if mode == "new":
            try:
                if Customer.objects.filter(national_id=digits_only(national_id) or None).exists():
                    raise ValidationFailed(
                        {
                            "national_id": [
                                _("You are already known to the bank: identify with your phone instead.")
                            ]
                        }
                    )
                customer = customer_create(
                    actor=None,
                    values={
                        "kind": "person",
                        "status": "prospect",
                        "first_name": request.POST.get("first_name", ""),
                        "last_name": request.POST.get("last_name", ""),
                        "national_id": national_id,
                        "phone": phone,
                        **({"branch": device.branch.code} if device.branch else {}),
                    },
                    source=ConversionEvent.Source.MANUAL,
                )
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return _begin(request, customer)
        elif services.kiosk_identification_locked(device=device):
            errors = {"": [_("Too many attempts. Please ask a member of staff for help.")]}
            status = 429
        else:
            try:
                customer = services.kiosk_customer_find(national_id=national_id, phone=phone)
            except NotFound:
                services.kiosk_identification_record(device=device, matched=False)
                errors = {"": [_("No customer has this national ID and phone. Check them, or apply as new.")]}
            else:
                services.kiosk_identification_record(device=device, matched=True)
                return _begin(request, customer)
    context = {"device": device, "errors": errors, "mode": mode, "post": request.POST}
    return render(request, "sales/kiosk_start.html", context, status=status if errors else 200)


def kiosk_apply(request: HttpRequest) -> HttpResponse:
    """Step 2: choose a product, answer its questions, photograph or attach its documents, submit."""
    device = _device(request)
    if device is None:
        return _locked(request)
    customer = _session_customer(request)
    if customer is None:
        return redirect("sales:kiosk")
    products = ProductType.objects.filter(is_active=True)
    product = products.filter(
        pk=form_number(request.GET.get("product") or request.POST.get("product"))
    ).first()
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and product is not None:
        application, _created, errors = submit_from_request(
            request,
            customer=customer,
            product=product,
            channel=ApplicationChannel.KIOSK,
            actor=None,
            kiosk=device,
        )
        if application is not None:
            request.session.flush()
            request.session[SESSION_DONE] = application.pk
            return redirect("sales:kiosk-done")
    context: dict[str, Any] = {
        "device": device,
        "customer": customer,
        "products": products,
        "product": product,
        **application_form_context(product, errors, request.POST if request.method == "POST" else None),
    }
    return render(request, "sales/kiosk_apply.html", context, status=422 if errors else 200)


def kiosk_done(request: HttpRequest) -> HttpResponse:
    """Step 3: the application's number and what happens next; the kiosk is ready for the next customer."""
    device = _device(request)
    if device is None:
        return _locked(request)
    application = Application.objects.filter(pk=request.session.get(SESSION_DONE) or 0, kiosk=device).first()
    if application is None:
        return redirect("sales:kiosk")
    return render(
        request,
        "sales/kiosk_done.html",
        {"application": application, "next_step": workflow.NEXT_STEP[application.status]},
    )
