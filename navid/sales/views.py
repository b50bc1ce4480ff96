"""Pages of sales: follow-ups, leads (board, detail, moves), applications, distribution rules, the funnel and KPIs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navid.core.dates import InvalidDate, parse_date
from navid.core.errors import Conflict, ValidationFailed
from navid.core.errors import PermissionDenied as NavidPermissionDenied
from navid.customers.models import Customer, ProductType
from navid.customers.selectors import customers_visible_to
from navid.sales import forms, pipeline, selectors, services, workflow
from navid.sales.models import (
    Application,
    ApplicationChannel,
    ApplicationDocument,
    ApplicationStatus,
    DistributionRule,
    FollowUpSource,
    FollowUpStatus,
    KioskDevice,
    Lead,
    LeadSource,
)
from navid.sales.requirements import DOCUMENT_MAX_BYTES, DOCUMENT_TYPES, NO_REQUIREMENTS, IncomingDocument

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


def form_number(value: str | None) -> int:
    """A id typed into a form; 0 (found nowhere) when it is not a number."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else 0


def _error_text(exc: ValidationFailed) -> str:
    return " ".join(str(r) for reasons in exc.errors.values() for r in reasons)


# --- leads ---


def _lead_or_404(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(selectors.leads_visible_to(user=request.user), pk=pk)


@login_required
@permission_required("sales.view_lead", raise_exception=True)
def lead_board(request: HttpRequest) -> HttpResponse:
    """My leads by stage with the next-step hints; supervisors may look at every lead they see."""
    mine = request.GET.get("all") != "1"
    overdue = request.GET.get("overdue") == "1"
    context = {
        "columns": selectors.lead_board(user=request.user, mine=mine, overdue=overdue),
        "mine": mine,
        "overdue": overdue,
        "can_add": request.user.has_perm("sales.add_lead"),
        "active": "leads",
    }
    return render(request, "sales/lead_board.html", context)


@login_required
@permission_required("sales.view_lead", raise_exception=True)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    can_change = request.user.has_perm("sales.change_lead")
    can_reassign = request.user.has_perm("sales.reassign_lead")
    context = {
        "lead": lead,
        "hint": pipeline.stage_hint(lead.stage),
        "history": selectors.lead_history(lead=lead),
        "next_stages": pipeline.next_stages(lead.stage) if can_change else [],
        "can_reassign": can_reassign and lead.is_open,
        "staff": forms.sellers() if can_reassign else [],
        "active": "leads",
    }
    return render(request, "sales/lead_detail.html", context)


@login_required
@permission_required("sales.change_lead", raise_exception=True)
@require_POST
def lead_move(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    try:
        services.lead_move(
            actor=request.user,
            lead=lead,
            stage=request.POST.get("stage", ""),
            note=request.POST.get("note", ""),
            lost_reason=request.POST.get("lost_reason", ""),
        )
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, _("The lead is updated."))
    return redirect("sales:lead-detail", pk=lead.pk)


@login_required
@permission_required("sales.reassign_lead", raise_exception=True)
@require_POST
def lead_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    assignee = forms.sellers().filter(pk=form_number(request.POST.get("assignee"))).first()
    try:
        services.lead_reassign(actor=request.user, lead=lead, assignee=assignee)
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, _("The lead is reassigned."))
    return redirect("sales:lead-detail", pk=lead.pk)


@login_required
@permission_required("sales.add_lead", raise_exception=True)
def lead_new(request: HttpRequest) -> HttpResponse:
    """A lead entered by hand for a customer the user sees."""
    customer = get_object_or_404(
        customers_visible_to(user=request.user),
        pk=form_number(request.GET.get("customer") or request.POST.get("customer")),
    )
    form = forms.LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(
                actor=request.user,
                customer=customer,
                product=form.cleaned_data["product"],
                source=LeadSource.MANUAL,
                notes=form.cleaned_data["notes"],
                value=form.cleaned_data["value"],
            )
        except ValidationFailed as exc:
            for field, reasons in exc.errors.items():
                form.add_error(field if field in form.fields else None, reasons)
        else:
            messages.success(request, _("The lead is created."))
            return redirect("sales:lead-detail", pk=lead.pk)
    return render(request, "sales/lead_new.html", {"form": form, "customer": customer, "active": "leads"})


# --- applications ---


def _application_or_404(request: HttpRequest, pk: int) -> Application:
    return get_object_or_404(selectors.applications_visible_to(user=request.user), pk=pk)


@login_required
@permission_required("sales.view_application", raise_exception=True)
def application_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    channel = request.GET.get("channel", "")
    filters = {
        "status": status if status in ApplicationStatus.values else "",
        "channel": channel if channel in ApplicationChannel.values else "",
    }
    qs = selectors.application_list(user=request.user, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "statuses": ApplicationStatus.choices,
        "channels": ApplicationChannel.choices,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "active": "applications",
    }
    return render(request, "sales/application_list.html", context)


def submit_from_request(
    request: HttpRequest,
    *,
    customer: Customer,
    product: ProductType,
    channel: str,
    actor: Any,
    kiosk: KioskDevice | None = None,
) -> tuple[Application | None, bool, dict[str, list[str]]]:
    """Read the answers (`v_<name>`) and files (`d_<kind>`) of the product's form and submit; the errors by key."""
    try:
        requirements = services.product_requirements(product=product)
    except ValidationFailed as exc:
        return None, False, exc.errors
    values = {spec.name: request.POST.get(f"v_{spec.name}", "") for spec in requirements.fields}
    documents = [
        IncomingDocument(kind=spec.kind, name=upload.name or "", content=upload.read())
        for spec in requirements.documents
        for upload in request.FILES.getlist(f"d_{spec.kind}")
        if upload.size is None or upload.size <= DOCUMENT_MAX_BYTES + 1
    ]
    too_big = [
        spec
        for spec in requirements.documents
        for upload in request.FILES.getlist(f"d_{spec.kind}")
        if upload.size is not None and upload.size > DOCUMENT_MAX_BYTES + 1
    ]
    if too_big:
        return (
            None,
            False,
            {
                f"documents.{spec.kind}": [
                    _("The file is larger than %(mb)d MB.") % {"mb": DOCUMENT_MAX_BYTES // (1024 * 1024)}
                ]
                for spec in too_big
            },
        )
    try:
        application, created = services.application_submit(
            actor=actor,
            customer=customer,
            product=product,
            channel=channel,
            values=values,
            documents=documents,
            idempotency_key=request.POST.get("idempotency_key", ""),
            kiosk=kiosk,
        )
    except ValidationFailed as exc:
        return None, False, exc.errors
    except Conflict as exc:
        return None, False, {"": [str(exc)]}
    return application, created, {}


def application_form_context(
    product: ProductType | None, errors: dict[str, list[str]], post: Any
) -> dict[str, Any]:
    """What the application form needs: the product's fields and documents with their errors and answers."""
    if product is None:
        return {}
    try:
        requirements = services.product_requirements(product=product)
    except ValidationFailed:
        requirements = NO_REQUIREMENTS
    return {
        "fields": [
            {
                "spec": spec,
                "value": post.get(f"v_{spec.name}", "") if post else "",
                "errors": errors.get(f"values.{spec.name}", []),
            }
            for spec in requirements.fields
        ],
        "documents": [
            {"spec": spec, "errors": errors.get(f"documents.{spec.kind}", [])}
            for spec in requirements.documents
        ],
        "other_errors": [
            reason
            for key, reasons in errors.items()
            if not key.startswith(("values.", "documents."))
            for reason in reasons
        ],
        "idempotency_key": (post.get("idempotency_key") if post else "") or uuid.uuid4().hex,
        "max_mb": DOCUMENT_MAX_BYTES // (1024 * 1024),
        "accept": ",".join(sorted(DOCUMENT_TYPES)),
    }


@login_required
@permission_required("sales.add_application", raise_exception=True)
def application_new(request: HttpRequest) -> HttpResponse:
    """A branch officer, agent or manager takes a customer's application: choose the product, then fill its form."""
    customer = get_object_or_404(
        customers_visible_to(user=request.user),
        pk=form_number(request.GET.get("customer") or request.POST.get("customer")),
    )
    products = ProductType.objects.filter(is_active=True)
    product = products.filter(
        pk=form_number(request.GET.get("product") or request.POST.get("product"))
    ).first()
    channel = request.POST.get("channel") or forms.default_channel(request.user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and product is not None:
        application, created, errors = submit_from_request(
            request, customer=customer, product=product, channel=channel, actor=request.user
        )
        if application is not None:
            if created:
                messages.success(request, _("The application is submitted and a manager is assigned."))
            else:
                messages.info(request, _("This application was already submitted today; here it is."))
            return redirect("sales:application-detail", pk=application.pk)
    failures = (
        services.eligibility_failures(customer=customer, product=product) if product is not None else []
    )
    context = {
        "customer": customer,
        "products": products,
        "product": product,
        "channel": channel,
        "channels": [c for c in ApplicationChannel.choices if c[0] != ApplicationChannel.KIOSK],
        "failures": failures,
        "active": "applications",
        **application_form_context(product, errors, request.POST if request.method == "POST" else None),
    }
    return render(request, "sales/application_new.html", context, status=422 if errors else 200)


@login_required
@permission_required("sales.view_application", raise_exception=True)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_or_404(request, pk)
    requirements = services.product_requirements(product=application.product_type)
    labels = {spec.name: spec.label for spec in requirements.fields}
    context = {
        "application": application,
        "answers": [(labels.get(k, k), v) for k, v in application.values.items()],
        "documents": application.documents.all(),
        "document_kinds": requirements.documents,
        "next_step": workflow.NEXT_STEP[application.status],
        "actions": workflow.actions_allowed(application=application, actor=request.user),
        "leads": selectors.leads_visible_to(user=request.user).filter(application=application),
        "can_add_documents": request.user.has_perm("sales.add_application")
        and application.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW),
        "accept": ",".join(sorted(DOCUMENT_TYPES)),
        "active": "applications",
    }
    return render(request, "sales/application_detail.html", context)


@login_required
@require_POST
def application_act(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_or_404(request, pk)
    try:
        services.application_act(
            actor=request.user,
            application=application,
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
    except Conflict as exc:
        messages.warning(request, str(exc))
    except NavidPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    else:
        messages.success(request, _("The application is updated."))
    return redirect("sales:application-detail", pk=application.pk)


@login_required
@permission_required("sales.add_application", raise_exception=True)
@require_POST
def application_documents(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_or_404(request, pk)
    kind = request.POST.get("kind", "")
    uploads = request.FILES.getlist("file")
    try:
        services.application_documents_add(
            actor=request.user,
            application=application,
            documents=[IncomingDocument(kind=kind, name=u.name or "", content=u.read()) for u in uploads],
        )
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, _("The document is added."))
    return redirect("sales:application-detail", pk=application.pk)


@login_required
@permission_required("sales.view_application", raise_exception=True)
def application_document(request: HttpRequest, pk: int, document_pk: int) -> FileResponse:
    application = _application_or_404(request, pk)
    document = get_object_or_404(ApplicationDocument, application=application, pk=document_pk)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )


# --- distribution rules ---


@login_required
@permission_required("sales.view_distributionrule", raise_exception=True)
def distribution_rules(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The bank's distribution rules in order, and the form to add one or change the one chosen."""
    can_change = request.user.has_perm("sales.change_distributionrule") and request.user.has_perm(
        "sales.add_distributionrule"
    )
    rule = get_object_or_404(DistributionRule, pk=pk) if pk is not None else DistributionRule()
    form = forms.DistributionRuleForm(request.POST or None, instance=rule)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.distribution_rule_save(
                    actor=request.user,
                    rule=form.save(commit=False),
                    managers=list(form.cleaned_data["managers"]),
                )
            except ValidationFailed as exc:
                for field, reasons in exc.errors.items():
                    form.add_error(field if field in form.fields else None, reasons)
            else:
                messages.success(request, _("The distribution rule is saved."))
                return redirect("sales:distribution")
    context = {
        "rules": DistributionRule.objects.select_related("region", "branch", "product_type").prefetch_related(
            "managers"
        ),
        "form": form,
        "editing": rule if rule.pk else None,
        "can_change": can_change,
        "active": "distribution",
    }
    return render(request, "sales/distribution_rules.html", context, status=422 if form.errors else 200)


@login_required
@permission_required("sales.delete_distributionrule", raise_exception=True)
@require_POST
def distribution_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.distribution_rule_delete(actor=request.user, rule=get_object_or_404(DistributionRule, pk=pk))
    messages.success(request, _("The distribution rule is removed."))
    return redirect("sales:distribution")


# --- funnel and KPIs ---


def _period(request: HttpRequest) -> selectors.Period:
    def day(name: str) -> dt.date | None:
        raw = request.GET.get(name, "").strip()
        if not raw:
            return None
        try:
            return parse_date(raw)
        except InvalidDate:
            return None

    return selectors.Period(start=day("from"), end=day("until"))


@login_required
@permission_required("sales.view_sales_kpis", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The funnel, the managers' KPIs and conversions over time, within the user's scope; CSV or XLSX export."""
    period = _period(request)
    dimension = request.GET.get("by", "source")
    if dimension not in selectors.CONVERSION_DIMENSIONS:
        dimension = "source"
    language = get_language() or "en"
    funnel = selectors.sales_funnel(user=request.user, period=period)
    kpis = selectors.manager_kpis(user=request.user, period=period)
    conversions = selectors.conversions_over_time(
        user=request.user, dimension=dimension, period=period, language=language
    )
    export = request.GET.get("format", "")
    if export in ("csv", "xlsx"):
        rows = selectors.dashboard_rows(funnel=funnel, kpis=kpis, conversions=conversions)
        if export == "csv":
            response = HttpResponse(selectors.dashboard_csv(rows), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(
                selectors.dashboard_xlsx(rows),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Content-Disposition"] = (
            f'attachment; filename="sales-{timezone.localdate().isoformat()}.{export}"'
        )
        return response
    chart = {
        "funnel": {
            "labels": [f.label for f in funnel if f.stage != "lost"],
            "values": [f.reached for f in funnel if f.stage != "lost"],
        },
        "conversions": {"labels": conversions.months, "series": conversions.series},
        "kpis": {
            "labels": [k.name for k in kpis],
            "won": [k.won for k in kpis],
            "handled": [k.handled for k in kpis],
        },
    }
    query = {
        k: v
        for k, v in {
            "from": request.GET.get("from", ""),
            "until": request.GET.get("until", ""),
            "by": dimension,
        }.items()
        if v
    }
    context = {
        "funnel": funnel,
        "kpis": kpis,
        "conversions": conversions,
        "dimension": dimension,
        "dimensions": [
            ("source", _("Source")),
            ("campaign", _("Campaign")),
            ("branch", _("Branch")),
            ("manager", _("Manager")),
        ],
        "chart": chart,
        "period": period,
        "filters": {"from": request.GET.get("from", ""), "until": request.GET.get("until", "")},
        "query": urlencode(query),
        "active": "sales-dashboard",
    }
    return render(request, "sales/dashboard.html", context)
