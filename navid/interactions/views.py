"""Pages of the interactions app: a customer's timeline (loaded into the customer page), logging, ingest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from navid.core.dates import format_date
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Customer
from navid.customers.selectors import customer_get
from navid.interactions import selectors, services
from navid.interactions.forms import IngestUploadForm, InteractionForm
from navid.interactions.ingest import COLUMNS, MAX_ERRORS_KEPT
from navid.interactions.models import InteractionIngestJob, InteractionKind
from navid.interactions.tasks import ingest_interactions

SHOWN_ERRORS = 1000


def _customer(request: HttpRequest, pk: int) -> Customer:
    try:
        return customer_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _blank_form(request: HttpRequest) -> InteractionForm:
    now = format_date(timezone.localtime(), get_language() or "en", with_time=True)
    return InteractionForm(initial={"occurred_at": now, "employee": request.user.get_username()})


def _timeline(
    request: HttpRequest, customer: Customer, *, form: InteractionForm | None = None, logged: bool = False
) -> HttpResponse:
    """The timeline card: signals, kind filter, one page of interactions, and the log form for those who log."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in InteractionKind.values else ""
    page = selectors.customer_timeline(
        customer=customer, kinds=[kind] if kind else None, page=_page_number(request.GET.get("page"))
    )
    if form is None and request.user.has_perm("interactions.add_interaction"):
        form = _blank_form(request)
    template = (
        "interactions/_timeline.html" if request.headers.get("HX-Request") else "interactions/timeline.html"
    )
    return render(
        request,
        template,
        {
            "customer": customer,
            "page": page,
            "kind": kind,
            "kinds": InteractionKind.choices,
            "signals": selectors.customer_signals(customer=customer),
            "form": form,
            "logged": logged,
        },
    )


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    return _timeline(request, _customer(request, pk))


@login_required
@permission_required("interactions.add_interaction", raise_exception=True)
def interaction_log(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    htmx = bool(request.headers.get("HX-Request"))
    if request.method != "POST":
        return render(request, "interactions/log.html", {"customer": customer, "form": _blank_form(request)})
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            services.interaction_log(actor=request.user, customer=customer, **form.values())
        except ValidationFailed as exc:
            for field, reasons in exc.errors.items():
                for reason in reasons:
                    form.add_error(field if field in form.fields else None, reason)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            if htmx:
                return _timeline(request, customer, logged=True)
            messages.success(request, _("Interaction logged."))
            return redirect("customers:detail", pk=customer.pk)
    if htmx:
        return _timeline(request, customer, form=form)
    return render(request, "interactions/log.html", {"customer": customer, "form": form})


@login_required
@permission_required("interactions.ingest_interactions", raise_exception=True)
def ingest_upload(request: HttpRequest) -> HttpResponse:
    form = IngestUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.interaction_ingest_job_create(
                actor=request.user, file_name=upload.name, content=upload
            )
        except ValidationFailed as exc:
            for reasons in exc.errors.values():
                for reason in reasons:
                    form.add_error("file", reason)
        else:
            if upload.size <= settings.NAVID_IMPORT_INLINE_BYTES:
                services.interaction_ingest_job_run(job_id=job.pk)
            else:
                transaction.on_commit(lambda: ingest_interactions.delay(job.pk))
            return redirect("interactions:ingest-job", pk=job.pk)
    jobs = selectors.ingest_jobs_of(user=request.user)
    context = {"form": form, "jobs": jobs, "columns": COLUMNS, "active": "ingest"}
    return render(request, "interactions/ingest_upload.html", context)


@login_required
@permission_required("interactions.ingest_interactions", raise_exception=True)
def ingest_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(InteractionIngestJob, pk=pk)
    if request.headers.get("HX-Request"):
        response = render(request, "interactions/_ingest_progress.html", {"job": job})
        if job.state in {InteractionIngestJob.State.SUCCEEDED, InteractionIngestJob.State.FAILED}:
            response["HX-Refresh"] = "true"  # the whole page, with the report of rejected lines
        return response
    errors = job.errors[:SHOWN_ERRORS]
    # Only the first problems are kept on the job (MAX_ERRORS_KEPT) and shown here (SHOWN_ERRORS).
    more = len(job.errors) > len(errors) or len(job.errors) >= MAX_ERRORS_KEPT
    context: dict[str, Any] = {"job": job, "errors": errors, "more": more, "active": "ingest"}
    return render(request, "interactions/ingest_job.html", context)
