"""Pages of surveys for staff: the builder, preview per language, results with charts, text answers, export,
surveys by phone, the kiosk key and the link to a satisfaction campaign."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from navid.campaigns.models import Campaign, Goal
from navid.core.dates import InvalidDate, parse_date
from navid.core.errors import NotFound, ValidationFailed
from navid.customers.selectors import customers_visible_to
from navid.surveys import public_views, selectors, services
from navid.surveys.models import (
    LANGUAGES,
    ConditionOperator,
    EvaluationParameter,
    Question,
    QuestionKind,
    ResponseState,
    Survey,
    SurveyCampaign,
    SurveyChannel,
    SurveyResponse,
)

PAGE_SIZE = 50


def _errors_text(exc: ValidationFailed) -> str:
    return " ".join(f"{field}: {reason}" for field, reasons in exc.errors.items() for reason in reasons)


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def survey_list(request: HttpRequest) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not request.user.has_perm("surveys.add_survey"):
            raise PermissionDenied
        try:
            survey = services.survey_create(
                actor=request.user,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
            )
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return redirect("surveys:detail", pk=survey.pk)
    context = {
        "surveys": Survey.objects.order_by("-id"),
        "errors": errors,
        "can_add": request.user.has_perm("surveys.add_survey"),
        "active": "surveys",
    }
    return render(request, "surveys/survey_list.html", context, status=422 if errors else 200)


def _question_form_context(version: Any, question: Question | None, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "kinds": QuestionKind.choices,
        "operators": ConditionOperator.choices,
        "parameters": EvaluationParameter.objects.filter(is_active=True),
        "earlier": [q for q in version.questions.all() if question is None or q.pk != question.pk],
        "values": values,
    }


def _question_values(question: Question) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": question.kind,
        "page": question.page,
        "required": question.required,
        "parameter": question.parameter_id or "",
        "condition_question": question.condition_question_id or "",
        "condition_operator": question.condition_operator,
        "condition_value": question.condition_value,
        "choices": "\n".join(
            " | ".join([c["value"], c.get("en", ""), c.get("fa", ""), c.get("ru", "")])
            for c in question.choices
        ),
    }
    for lang in LANGUAGES:
        values[f"text_{lang}"] = getattr(question, f"text_{lang}")
    return values


def _posted_question(request: HttpRequest) -> dict[str, Any]:
    fields = [
        "kind",
        "page",
        "parameter",
        "choices",
        "condition_question",
        "condition_operator",
        "condition_value",
    ]
    values: dict[str, Any] = {f: request.POST.get(f, "") for f in fields}
    values["required"] = request.POST.get("required") == "on"
    for lang in LANGUAGES:
        values[f"text_{lang}"] = request.POST.get(f"text_{lang}", "")
    return values


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The builder: settings, the questions of the current version in order, adding a question."""
    survey = get_object_or_404(Survey, pk=pk)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"kind": QuestionKind.NPS, "page": 1, "required": True}
    can_change = request.user.has_perm("surveys.change_survey")
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "settings":
                services.survey_update(
                    actor=request.user,
                    survey=survey,
                    name=request.POST.get("name", ""),
                    description=request.POST.get("description", ""),
                    detractor_due_days=int(request.POST.get("detractor_due_days") or 0),
                )
                messages.success(request, _("The survey is saved."))
            elif action == "kiosk":
                if not request.user.has_perm("surveys.set_survey_kiosk_key"):
                    raise PermissionDenied
                services.survey_kiosk_key_set(
                    actor=request.user, survey=survey, key=request.POST.get("key", "")
                )
                messages.success(request, _("The kiosk key is saved."))
            elif action == "campaign":
                campaign = Campaign.objects.filter(pk=request.POST.get("campaign") or 0).first()
                if campaign is None:
                    raise ValidationFailed({"campaign": [_("Choose a campaign.")]})
                services.survey_campaign_link(actor=request.user, campaign=campaign, survey=survey)
                messages.success(request, _("The campaign sends this survey."))
            else:
                values = _posted_question(request)
                services.question_save(actor=request.user, survey=survey, values=values)
                messages.success(request, _("The question is added."))
        except ValidationFailed as exc:
            errors = exc.errors
            if action in ("settings", "kiosk", "campaign"):
                messages.error(request, _errors_text(exc))
        except ValueError:
            messages.error(request, _("Enter a whole number."))
        else:
            return redirect("surveys:detail", pk=survey.pk)
    version = services.version_current(survey=survey)
    context = {
        "survey": survey,
        "version": version,
        "frozen": services.version_is_frozen(version=version),
        "questions": version.questions.select_related("parameter", "condition_question"),
        "errors": errors,
        "can_change": can_change,
        "can_kiosk": request.user.has_perm("surveys.set_survey_kiosk_key"),
        "campaigns": Campaign.objects.filter(goal=Goal.SATISFACTION).order_by("-id")[:100],
        "linked": SurveyCampaign.objects.filter(version__survey=survey).select_related("campaign", "version"),
        "kiosk_url": request.build_absolute_uri(reverse("surveys_public:kiosk", args=[survey.pk])),
        "active": "surveys",
        **_question_form_context(version, None, values),
    }
    return render(request, "surveys/survey_detail.html", context, status=422 if errors else 200)


@login_required
@permission_required("surveys.change_survey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    question = get_object_or_404(Question, pk=question_pk, version__survey=survey)
    errors: dict[str, list[str]] = {}
    values = _question_values(question)
    if request.method == "POST":
        values = _posted_question(request)
        try:
            services.question_save(actor=request.user, survey=survey, values=values, question=question)
        except ValidationFailed as exc:
            errors = exc.errors
        except NotFound as exc:
            messages.error(request, str(exc))
            return redirect("surveys:detail", pk=survey.pk)
        else:
            messages.success(request, _("The question is saved."))
            return redirect("surveys:detail", pk=survey.pk)
    context = {
        "survey": survey,
        "question": question,
        "errors": errors,
        "frozen": services.version_is_frozen(version=question.version),
        "active": "surveys",
        **_question_form_context(question.version, question, values),
    }
    return render(request, "surveys/question_edit.html", context, status=422 if errors else 200)


@login_required
@permission_required("surveys.change_survey", raise_exception=True)
@require_POST
def question_action(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    """Move a question up or down, or delete it."""
    survey = get_object_or_404(Survey, pk=pk)
    question = get_object_or_404(Question, pk=question_pk, version__survey=survey)
    action = request.POST.get("action")
    try:
        if action == "delete":
            services.question_delete(actor=request.user, survey=survey, question=question)
            messages.success(request, _("The question is deleted."))
        elif action in ("up", "down"):
            services.question_move(actor=request.user, survey=survey, question=question, up=action == "up")
    except NotFound as exc:
        messages.error(request, str(exc))
    return redirect("surveys:detail", pk=survey.pk)


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
def survey_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Every question of the current version as the respondent sees it, in one language, with its conditions."""
    survey = get_object_or_404(Survey, pk=pk)
    language = request.GET.get("lang", "")
    language = language if language in LANGUAGES else (get_language() or "fa")[:2]
    version = services.version_current(survey=survey)
    pages: dict[int, list[dict[str, Any]]] = {}
    for question in version.questions.select_related("condition_question"):
        item = public_views._question_item(question, None, {}, {}, language)
        pages.setdefault(question.page, []).append(item)
    context = {
        "survey": survey,
        "version": version,
        "pages": sorted(pages.items()),
        "language": language,
        "languages": LANGUAGES,
        "preview_rtl": language == "fa",
        "active": "surveys",
    }
    return render(request, "surveys/survey_preview.html", context)


def _period(request: HttpRequest) -> tuple[dt.date | None, dt.date | None, list[str]]:
    problems = []
    out: list[dt.date | None] = []
    for name in ("start", "end"):
        raw = request.GET.get(name, "").strip()
        if not raw:
            out.append(None)
            continue
        try:
            out.append(parse_date(raw))
        except InvalidDate:
            problems.append(_("%(field)s: not a date: %(value)s") % {"field": name, "value": raw})
            out.append(None)
    return out[0], out[1], problems


@login_required
@permission_required("surveys.view_survey_results", raise_exception=True)
def survey_results(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    start, end, problems = _period(request)
    channel = request.GET.get("channel", "")
    channel = channel if channel in SurveyChannel.values else ""
    dimension = request.GET.get("by", "month")
    dimension = dimension if dimension in selectors.DIMENSIONS else "month"
    language = (get_language() or "fa")[:2]
    results = selectors.survey_results(survey=survey, start=start, end=end, channel=channel)
    breakdown = selectors.survey_breakdown(
        survey=survey, dimension=dimension, language=language, start=start, end=end
    )
    parameters = [p for p in results.parameters if p.answers]
    chart = {
        "breakdown": {
            "labels": [row.label for row in breakdown],
            "nps": [round(row.nps.score, 1) if row.nps.score is not None else None for row in breakdown],
        },
        "parameters": {
            "labels": [p.name for p in parameters],
            "averages": [round(p.average or 0, 2) for p in parameters],
        },
        "nps_label": _("NPS"),
        "average_label": _("Average rating (1-5)"),
    }
    context = {
        "survey": survey,
        "results": results,
        "breakdown": breakdown,
        "parameters": parameters,
        "dimension": dimension,
        "dimensions": [
            ("month", _("Month")),
            ("channel", _("Channel")),
            ("branch", _("Branch")),
            ("region", _("Region")),
            ("segment", _("Segment")),
        ],
        "channels": SurveyChannel.choices,
        "filters": {
            "start": request.GET.get("start", ""),
            "end": request.GET.get("end", ""),
            "channel": channel,
        },
        "problems": problems,
        "chart": chart,
        "active": "surveys",
    }
    return render(request, "surveys/survey_results.html", context)


@login_required
@permission_required("surveys.view_survey_results", raise_exception=True)
def survey_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Every completed response with its answers, as CSV (UTF-8 with BOM) or XLSX."""
    survey = get_object_or_404(Survey, pk=pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    rows = selectors.export_rows(survey=survey)
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("responses")
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        for row in rows:
            writer.writerow(row)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.{fmt}"'
    return response


@login_required
@permission_required("surveys.view_survey_results", raise_exception=True)
def text_answers(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    search = request.GET.get("q", "")
    page = Paginator(selectors.text_answers(survey=survey, search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "surveys/text_answers.html",
        {"survey": survey, "page": page, "search": search, "query": f"q={search}", "active": "surveys"},
    )


@login_required
@permission_required("surveys.answer_survey_by_phone", raise_exception=True)
@require_http_methods(["GET", "POST"])
def phone_start(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """ "Survey by phone" for one customer: choose the survey, then fill it in while talking."""
    customer = get_object_or_404(customers_visible_to(user=request.user), pk=customer_pk)
    problem = ""
    if request.method == "POST":
        survey = Survey.objects.filter(pk=request.POST.get("survey") or 0).first()
        if survey is None:
            problem = _("Choose a survey.")
        else:
            version = services.version_current(survey=survey)
            if not version.questions.exists():
                problem = _("The survey has no questions yet.")
            else:
                response = services.response_start(
                    version=version,
                    channel=SurveyChannel.PHONE,
                    language=customer.language,
                    customer=customer,
                    entered_by=request.user,
                )
                return redirect("surveys:phone-fill", response_pk=response.pk)
    context = {
        "customer": customer,
        "surveys": Survey.objects.order_by("-id"),
        "problem": problem,
        "active": "surveys",
    }
    return render(request, "surveys/phone_start.html", context, status=422 if problem else 200)


@login_required
@permission_required("surveys.answer_survey_by_phone", raise_exception=True)
@require_http_methods(["GET", "POST"])
def phone_fill(request: HttpRequest, response_pk: int) -> HttpResponse:
    response = get_object_or_404(
        SurveyResponse.objects.select_related("survey", "version", "customer"),
        pk=response_pk,
        channel=SurveyChannel.PHONE,
        customer__in=customers_visible_to(user=request.user),
    )
    if response.state == ResponseState.COMPLETED:
        messages.info(request, _("This survey has already been answered. Thank you."))
        return redirect("customers:detail", pk=response.customer_id)
    result = public_views.answer_page(
        request,
        response=response,
        action=reverse("surveys:phone-fill", args=[response.pk]),
        language=public_views.request_language(request, response.language),
        template="surveys/phone_page.html",
        extra={"active": "surveys"},
    )
    if (
        request.method == "POST"
        and SurveyResponse.objects.filter(pk=response.pk, state=ResponseState.COMPLETED).exists()
    ):
        messages.success(request, _("The survey answers are saved."))
        return redirect("customers:detail", pk=response.customer_id)
    return result
