"""Pages of the customers app: list, profile, forms, trash, import wizard, duplicates, export."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navid.accounts.models import Branch, Region
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers import selectors, services
from navid.customers.forms import ConsentForm, CustomerForm, ImportUploadForm, MergeForm
from navid.customers.importing import ImportFileError, guess_mapping, open_table
from navid.customers.models import (
    Customer,
    ImportJob,
    Industry,
    PartyKind,
    PartyStatus,
    ProspectRank,
    ProspectStatus,
    ProspectType,
)
from navid.customers.presenters import national_id_for
from navid.customers.tasks import import_customers
from navid.customers.validation import CUSTOMER_FIELDS, is_formula

PAGE_SIZE = 50


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _filters(request: HttpRequest) -> selectors.CustomerFilters:
    get = request.GET
    return selectors.CustomerFilters(
        q=get.get("q", "")[:200],
        status=get.get("status", "") if get.get("status") in PartyStatus.values else "",
        kind=get.get("kind", "") if get.get("kind") in PartyKind.values else "",
        region=_int(get.get("region")),
        branch=_int(get.get("branch")),
        prospect_type=_int(get.get("prospect_type")),
        prospect_rank=_int(get.get("prospect_rank")),
        prospect_status=_int(get.get("prospect_status")),
        industry=_int(get.get("industry")),
    )


def _get(request: HttpRequest, pk: int, *, trash: bool = False) -> Customer:
    try:
        return selectors.customer_get(user=request.user, pk=pk, trash=trash)
    except NotFound as exc:
        raise Http404 from exc


def _filter_choices() -> dict[str, Any]:
    return {
        "regions": Region.objects.filter(is_active=True),
        "branches": Branch.objects.filter(is_active=True),
        "prospect_types": ProspectType.objects.filter(is_active=True),
        "prospect_ranks": ProspectRank.objects.filter(is_active=True),
        "prospect_statuses": ProspectStatus.objects.filter(is_active=True),
        "industries": Industry.objects.filter(is_active=True),
        "statuses": PartyStatus.choices,
        "kinds": PartyKind.choices,
    }


def _page(request: HttpRequest, qs: Any) -> Any:
    paginator = Paginator(qs, PAGE_SIZE)
    paginator.count  # noqa: B018 - counted once, here, for the pager
    return paginator.get_page(request.GET.get("page"))


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    qs = selectors.customer_list(user=request.user, filters=filters)
    page = _page(request, qs)
    rows = [(c, national_id_for(user=request.user, value=c.national_id)) for c in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/list.html",
        {"page": page, "rows": rows, "filters": filters, "query": query.urlencode(), **_filter_choices()},
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get(request, pk)
    history = list(selectors.customer_history(customer=customer)[:100])
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "national_id": national_id_for(user=request.user, value=customer.national_id),
            "holdings": customer.holdings.select_related("product_type"),
            "transactions": customer.transactions.all()[:20],
            "consents": customer.consents.order_by("channel", "purpose"),
            "contact_points": customer.contact_points.all(),
            "conversions": customer.conversions.select_related("actor"),
            "history": history,
            "consent_form": ConsentForm(),
        },
    )


def _form_values(customer: Customer) -> dict[str, Any]:
    initial = {name: getattr(customer, name) for name in CUSTOMER_FIELDS if name != "external_id"}
    for name in ("birth_date", "customer_since"):
        initial[name] = initial[name].isoformat() if initial[name] else ""
    return initial


def _save_form(request: HttpRequest, form: CustomerForm, customer: Customer | None) -> Customer | None:
    if not form.is_valid():
        return None
    try:
        if customer is None:
            return services.customer_create(actor=request.user, values=form.values())
        return services.customer_update(actor=request.user, customer=customer, values=form.values())
    except ValidationFailed as exc:
        for field, reasons in exc.errors.items():
            for reason in reasons:
                form.add_error(field if field in form.fields else None, reason)
    return None


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, initial={"language": request.LANGUAGE_CODE[:2]})
    if request.method == "POST" and (customer := _save_form(request, form, None)):
        messages.success(request, _("Saved."))
        if selectors.customers_visible_to(user=request.user).filter(pk=customer.pk).exists():
            return redirect("customers:detail", pk=customer.pk)
        return redirect("customers:list")
    return render(request, "customers/form.html", {"form": form, "customer": None})


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get(request, pk)
    form = CustomerForm(request.POST or None, initial=_form_values(customer))
    if request.method == "POST" and _save_form(request, form, customer):
        messages.success(request, _("Saved."))
        return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": customer})


@require_POST
@login_required
@permission_required("customers.delete_customer", raise_exception=True)
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get(request, pk)
    services.customer_delete(actor=request.user, customer=customer)
    messages.success(request, _("Moved to the trash: %(name)s") % {"name": customer.display_name})
    return redirect("customers:list")


@require_POST
@login_required
@permission_required("customers.restore_customer", raise_exception=True)
def customer_restore(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get(request, pk, trash=True)
    try:
        services.customer_restore(actor=request.user, customer=customer)
    except Conflict as exc:
        messages.error(request, str(exc))
        return redirect("customers:trash")
    messages.success(request, _("Restored: %(name)s") % {"name": customer.display_name})
    return redirect("customers:detail", pk=customer.pk)


@login_required
@permission_required("customers.restore_customer", raise_exception=True)
def customer_trash(request: HttpRequest) -> HttpResponse:
    qs = selectors.customer_list(user=request.user, filters=_filters(request), trash=True)
    return render(request, "customers/trash.html", {"page": _page(request, qs)})


@require_POST
@login_required
@permission_required("customers.manage_consent", raise_exception=True)
def consent_update(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get(request, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_set(actor=request.user, customer=customer, **form.cleaned_data)
        messages.success(request, _("Consent recorded."))
    else:
        messages.error(
            request, _("The consent was not recorded: %(errors)s") % {"errors": form.errors.as_text()}
        )
    return redirect("customers:detail", pk=customer.pk)


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_job_create(
                actor=request.user,
                file_name=upload.name,
                content=upload,
                dry_run=form.cleaned_data["dry_run"],
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
        except ValidationFailed as exc:
            form.add_error("file", "; ".join(exc.errors["file"]))
        else:
            return redirect("customers:import-mapping", pk=job.pk)
    jobs = ImportJob.objects.filter(actor_id=request.user.pk)[:10]
    return render(request, "customers/import_upload.html", {"form": form, "jobs": jobs})


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk, state=ImportJob.State.PENDING)
    from pathlib import Path

    try:
        table = open_table(Path(job.stored_path))
        header = table.header
        preview = [cells for _, cells in zip(range(5), table.rows, strict=False)]
    except ImportFileError as exc:
        job.state, job.message = ImportJob.State.FAILED, str(exc)
        job.save()
        return redirect("customers:import-job", pk=job.pk)
    guessed = guess_mapping(header)
    if request.method == "POST":
        mapping = {col: request.POST.get(f"map-{i}", "") for i, col in enumerate(header)}
        job.mapping = {col: field for col, field in mapping.items() if field in CUSTOMER_FIELDS}
        job.dry_run = request.POST.get("dry_run") == "on"
        job.skip_invalid = request.POST.get("skip_invalid") == "on"
        job.save()
        if job.stored_size() <= settings.NAVID_IMPORT_INLINE_BYTES:
            services.import_job_run(job_id=job.pk)
        else:
            transaction.on_commit(lambda: import_customers.delay(job.pk))
        return redirect("customers:import-job", pk=job.pk)
    columns = [(i, col, guessed.get(col, "")) for i, col in enumerate(header)]
    return render(
        request,
        "customers/import_mapping.html",
        {"job": job, "columns": columns, "fields": CUSTOMER_FIELDS, "preview": preview},
    )


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_with_progress(get_object_or_404(ImportJob, pk=pk))
    template = (
        "customers/_import_progress.html"
        if request.headers.get("HX-Request")
        else "customers/import_job.html"
    )
    return render(request, template, {"job": job, "errors": job.errors[:500]})


@login_required
@permission_required("customers.merge_customers", raise_exception=True)
def duplicates(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = MergeForm(request.POST)
        if form.is_valid():
            try:
                survivor = _get(request, form.cleaned_data["survivor"])
                duplicate = _get(request, form.cleaned_data["duplicate"])
                services.customer_merge(actor=request.user, survivor=survivor, duplicate=duplicate)
            except Conflict as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Merged into %(name)s.") % {"name": survivor.display_name})
                return redirect("customers:detail", pk=survivor.pk)
        return redirect("customers:duplicates")
    return render(
        request, "customers/duplicates.html", {"groups": selectors.duplicate_groups(user=request.user)}
    )


def _safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text and (is_formula(text) or text[0] in "=+-@\t\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@permission_required("customers.export_customers", raise_exception=True)
def customer_export(request: HttpRequest) -> StreamingHttpResponse:
    qs = selectors.customer_list(user=request.user, filters=_filters(request))
    columns = [f for f in CUSTOMER_FIELDS if f != "relationship_manager"]
    writer = csv.writer(_Echo())

    def rows() -> Any:
        yield "\ufeff" + writer.writerow(["id", *columns])
        for customer in qs.select_related(
            "prospect_type", "prospect_rank", "prospect_status", "industry"
        ).iterator(chunk_size=2000):
            values = []
            for name in columns:
                value = getattr(customer, name)
                if name == "national_id":
                    value = national_id_for(user=request.user, value=value)
                elif hasattr(value, "code"):
                    value = value.code
                values.append(_safe_cell(value))
            yield writer.writerow([customer.pk, *values])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response
