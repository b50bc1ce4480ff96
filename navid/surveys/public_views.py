"""The public survey pages (/s/...): a campaign link, and kiosk mode on a branch tablet.

No login: a campaign link's signed token (campaigns.tokens, purpose "survey") names the message and so the
customer; the kiosk is opened by a device key an administrator sets. Like the campaign's public pages the forms
are exempt from CSRF (the token in the address is the permission). Plain forms, one page per group of questions,
conditions evaluated on the server: no JavaScript needed. A bad token gets a clear page, never an error 500.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from navid.campaigns.models import Brand, Campaign, OutboxMessage
from navid.campaigns.tokens import message_token_read
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.models import Customer
from navid.surveys import services
from navid.surveys.models import (
    LANGUAGES,
    RANGES,
    QuestionKind,
    ResponseState,
    Survey,
    SurveyCampaign,
    SurveyChannel,
    SurveyResponse,
)

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_KIOSK_SALT = "navid.surveys.kiosk"
_KIOSK_COOKIE = "navid_kiosk_%d"
_KIOSK_RESPONSE_SALT = "navid.surveys.kiosk-response"
# A kiosk respondent has this long to finish before the tablet's link to the response stops working.
KIOSK_RESPONSE_MAX_AGE = 2 * 60 * 60


def _finish(response: HttpResponse, language: str) -> HttpResponse:
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    response["Content-Language"] = language
    return response


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    language: str,
    brand: Brand | None = None,
    status: int = 200,
) -> HttpResponse:
    colors = {"primary": "#0b5394", "accent": "#f1c232"}
    if brand is not None:  # only "#rrggbb" reaches the style sheet
        for key, value in (("primary", brand.primary_color), ("accent", brand.accent_color)):
            if _COLOR.fullmatch(value or ""):
                colors[key] = value
    with translation.override(language):
        rendered = render(
            request,
            template,
            {"brand": brand, "colors": colors, "is_rtl": translation.get_language_bidi(), **context},
            status=status,
        )
    return _finish(rendered, language)


def _problem(
    request: HttpRequest, *, status: int, text: str | Promise, language: str = "", brand: Brand | None = None
) -> HttpResponse:
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        text = str(text)
        title = {
            400: _("This cannot be done"),
            404: _("This link is not valid"),
            409: _("Already answered"),
            410: _("This survey is closed"),
        }.get(status, _("This cannot be done"))
    return _page(
        request,
        "campaigns/public/problem.html",
        {"title": title, "text": text},
        language=language,
        brand=brand,
        status=status,
    )


def request_language(request: HttpRequest, default: str) -> str:
    """The language asked for with ?lang= (or the form's lang), else `default`; only fa, ru and en."""
    wanted = request.GET.get("lang") or request.POST.get("lang") or ""
    return wanted if wanted in LANGUAGES else (default if default in LANGUAGES else "fa")


def message_expires_at(message: OutboxMessage) -> dt.datetime | None:
    """The end of the campaign's response window, counted from when the message went out."""
    sent = message.sent_at or message.campaign.starts_at
    if sent is None:
        return None
    return sent + dt.timedelta(days=message.campaign.response_window_days)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def survey_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The survey a satisfaction campaign's message links to: one response per message, resumable."""
    try:
        message_id = message_token_read(token=token, purpose="survey")
    except signing.BadSignature:
        message_id = None
    message = (
        OutboxMessage.objects.select_related("campaign__brand", "campaign__survey_link__version")
        .filter(pk=message_id)
        .first()
        if message_id is not None
        else None
    )
    link: SurveyCampaign | None = getattr(message.campaign, "survey_link", None) if message else None
    if message is None or link is None:
        return _problem(
            request,
            status=404,
            text=gettext_lazy(
                "The link may be incomplete or changed. Open it again from the message you received."
            ),
        )
    campaign: Campaign = message.campaign
    response = (
        SurveyResponse.objects.filter(message_id=message.pk).select_related("survey", "version").first()
    )
    language = request_language(request, response.language if response else message.language)
    if response is not None and response.state == ResponseState.COMPLETED:
        return _problem(
            request,
            status=409,
            text=gettext_lazy("You have already answered this survey. Thank you."),
            language=language,
            brand=campaign.brand,
        )
    expires = message_expires_at(message)
    if expires is not None and expires <= timezone.now():
        return _problem(
            request,
            status=410,
            text=gettext_lazy("The time to answer this survey has passed."),
            language=language,
            brand=campaign.brand,
        )
    if response is None:
        segment = campaign.target_segments.order_by("pk").values_list("pk", flat=True).first()
        response = services.response_start(
            version=link.version,
            channel=message.channel if message.channel in SurveyChannel.values else SurveyChannel.WEB,
            language=language,
            customer=Customer.objects.filter(pk=message.customer_id).first(),
            message_id=message.pk,
            campaign_id=campaign.pk,
            segment_id=segment,
        )
    return answer_page(
        request,
        response=response,
        action=reverse("surveys_public:link", args=[token]),
        language=language,
        brand=campaign.brand,
    )


def answer_page(
    request: HttpRequest,
    *,
    response: SurveyResponse,
    action: str,
    language: str,
    brand: Brand | None = None,
    template: str = "surveys/public/page.html",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Show the response's current page, or store a posted page and go on (POST, then redirect to GET)."""
    if response.language != language:
        SurveyResponse.objects.filter(pk=response.pk).update(language=language)
        response.language = language
    errors: dict[str, list[str]] = {}
    posted: dict[str, list[str]] = {}
    page = response.page
    if request.method == "POST":
        posted = {key: request.POST.getlist(key) for key in request.POST if key.startswith("q")}
        try:
            page = int(request.POST.get("page", ""))
        except ValueError:
            page = response.page
        try:
            with translation.override(language):
                updated = services.response_page_submit(
                    response=response, page=page, data=posted, actor=request.user
                )
        except ValidationFailed as exc:
            errors = exc.errors
        except Conflict as exc:
            return _problem(request, status=409, text=str(exc), language=language, brand=brand)
        else:
            if updated.state == ResponseState.COMPLETED:
                return _page(
                    request,
                    "surveys/public/thanks.html",
                    {"response": updated, **(extra or {})},
                    language=language,
                    brand=brand,
                )
            return _finish(HttpResponseRedirect(f"{action}?lang={language}"), language)
    else:
        try:
            wanted = int(request.GET.get("page", ""))
        except ValueError:
            wanted = 0
        if 0 < wanted < response.page:  # going back to a page already answered
            page = wanted
    all_questions = services.response_questions(response=response)
    answers = {a.question_id: a for a in response.answers.all()}
    questions = services.page_questions(
        response=response, page=page, questions=all_questions, answers=answers
    )
    saved = {q.pk: answers[q.pk] for q in questions if q.pk in answers}
    pages = services.response_pages(questions=all_questions)
    with translation.override(language):
        items = [_question_item(q, saved.get(q.pk), posted, errors, language) for q in questions]
        page_errors = [str(e) for e in errors.get("page", [])]
    context = {
        "survey": response.survey,
        "response": response,
        "items": items,
        "page": page,
        "page_number": pages.index(page) + 1 if page in pages else 1,
        "page_count": len(pages),
        "previous": max((p for p in pages if p < page), default=None),
        "action": action,
        "language": language,
        "languages": [(code, name) for code, name in settings.LANGUAGES if code in LANGUAGES],
        "errors": [item for item in items if item["error"]],
        "page_errors": page_errors,
        **(extra or {}),
    }
    return _page(request, template, context, language=language, brand=brand, status=422 if errors else 200)


def _question_item(
    question: Any, saved: Any, posted: dict[str, list[str]], errors: dict[str, list[str]], language: str
) -> dict[str, Any]:
    name = f"q{question.pk}"
    if name in posted:
        values = posted[name]
    elif saved is not None:
        if saved.choices:
            values = list(saved.choices)
        elif saved.number is not None and question.kind in RANGES:
            values = [str(saved.number)]
        else:
            values = [saved.text]
    else:
        values = []
    if question.kind in RANGES:
        low, high = RANGES[question.kind]
        options = [(str(n), str(n)) for n in range(low, high + 1)]
    else:
        options = question.choice_items(language)
    return {
        "question": question,
        "name": name,
        "text": question.text(language),
        "kind": question.kind,
        "options": options,
        "values": values,
        "value": values[0] if values else "",
        "error": " ".join(str(e) for e in errors.get(name, [])),
        "is_scale": question.kind in RANGES,
        "is_text": question.kind == QuestionKind.TEXT,
        "is_multiple": question.kind == QuestionKind.MULTIPLE,
        "low_label": _("Not at all likely") if question.kind == QuestionKind.NPS else _("Very dissatisfied"),
        "high_label": _("Extremely likely") if question.kind == QuestionKind.NPS else _("Very satisfied"),
        "max_length": services.TEXT_MAX,
    }


# --- kiosk mode ---


def _kiosk_ok(request: HttpRequest, survey: Survey) -> bool:
    if not survey.kiosk_key_digest:
        return False
    value = request.get_signed_cookie(_KIOSK_COOKIE % survey.pk, default="", salt=_KIOSK_SALT) or ""
    return bool(value) and hmac.compare_digest(value, survey.kiosk_key_digest)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def kiosk(request: HttpRequest, survey_id: int) -> HttpResponse:
    """A branch tablet: first the device key, then "start" (anonymous or with a customer number)."""
    survey = Survey.objects.filter(pk=survey_id).first()
    language = request_language(request, settings.LANGUAGE_CODE)
    if survey is None or not survey.kiosk_key_digest:
        return _problem(
            request,
            status=404,
            text=gettext_lazy("This survey is not offered on tablets."),
            language=language,
        )
    if not _kiosk_ok(request, survey):
        problem = ""
        if request.method == "POST" and "device_key" in request.POST:
            key = request.POST.get("device_key", "")
            if hmac.compare_digest(services.kiosk_key_digest(key), survey.kiosk_key_digest):
                redirect = HttpResponseRedirect(f"{request.path}?lang={language}")
                redirect.set_signed_cookie(
                    _KIOSK_COOKIE % survey.pk,
                    survey.kiosk_key_digest,
                    salt=_KIOSK_SALT,
                    max_age=365 * 24 * 3600,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure(),
                )
                return _finish(redirect, language)
            with translation.override(language):
                problem = _("The device key is not right.")
        return _page(
            request,
            "surveys/public/kiosk_key.html",
            {"survey": survey, "problem": problem},
            language=language,
            status=403,
        )
    problem = ""
    if request.method == "POST":
        number = request.POST.get("customer_number", "").strip()
        customer = None
        if number:
            customer = Customer.live.filter(external_id=number).first()
            if customer is None:
                with translation.override(language):
                    problem = _("No customer has this number. Check it, or answer without it.")
        if not problem:
            response = services.response_start(
                version=services.version_current(survey=survey),
                channel=SurveyChannel.KIOSK,
                language=language,
                customer=customer,
            )
            token = signing.dumps(response.pk, salt=_KIOSK_RESPONSE_SALT)
            url = reverse("surveys_public:kiosk-response", args=[survey.pk, token])
            return _finish(HttpResponseRedirect(f"{url}?lang={language}"), language)
    return _page(
        request,
        "surveys/public/kiosk_start.html",
        {
            "survey": survey,
            "problem": problem,
            "languages": [(c, n) for c, n in settings.LANGUAGES if c in LANGUAGES],
            "language": language,
        },
        language=language,
        status=422 if problem else 200,
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def kiosk_response(request: HttpRequest, survey_id: int, token: str) -> HttpResponse:
    """One respondent on the tablet, page after page."""
    survey = Survey.objects.filter(pk=survey_id).first()
    language = request_language(request, settings.LANGUAGE_CODE)
    if survey is None or not _kiosk_ok(request, survey):
        return _problem(
            request,
            status=404,
            text=gettext_lazy("This survey is not offered on tablets."),
            language=language,
        )
    try:
        response_id = signing.loads(token, salt=_KIOSK_RESPONSE_SALT, max_age=KIOSK_RESPONSE_MAX_AGE)
    except signing.BadSignature:
        return _problem(
            request,
            status=404,
            text=gettext_lazy("Start again from the tablet's first page."),
            language=language,
        )
    response = (
        SurveyResponse.objects.filter(pk=response_id, survey=survey)
        .select_related("version", "survey")
        .first()
    )
    if response is None:
        return _problem(
            request,
            status=404,
            text=gettext_lazy("Start again from the tablet's first page."),
            language=language,
        )
    if response.state == ResponseState.COMPLETED:
        return _finish(HttpResponseRedirect(reverse("surveys_public:kiosk", args=[survey.pk])), language)
    return answer_page(
        request,
        response=response,
        action=reverse("surveys_public:kiosk-response", args=[survey.pk, token]),
        language=language,
        extra={"kiosk_url": reverse("surveys_public:kiosk", args=[survey.pk])},
    )
