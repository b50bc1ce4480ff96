"""Pages of campaigns: the list, the month calendar, the plan form, a campaign's page (state and actions, plan,
previews, dry run, live progress, results and exports) and brand layouts. Thin: parse, call one service, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import get_language, get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from navid.accounts.models import AuditEntry
from navid.campaigns import results as campaign_results
from navid.campaigns import selectors, services
from navid.campaigns.forms import LANGUAGE_NAMES, BrandForm, CampaignForm, ReviewForm
from navid.campaigns.materialise import policy_dry_run
from navid.campaigns.models import Brand, Campaign, CampaignChannel, Group, State
from navid.campaigns.personalise import FIELDS
from navid.campaigns.presenters import message_preview, rule_labels
from navid.campaigns.results import RESULTS_KEPT_FROM
from navid.campaigns.tasks import results_for_reading
from navid.campaigns.workflow import MakerCannotCheck, state_conflict
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.core.templatetags.navid import lnumber

PAGE_SIZE = 50
HISTORY_SHOWN = 30
POLL_SECONDS = 2


def _campaign(pk: int) -> Campaign:
    campaign = selectors.campaign_detail(pk=pk)
    if campaign is None:
        raise Http404
    return campaign


# --- list and calendar ---


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") or ""
    if state not in State.values:
        state = ""
    query = request.GET.get("q", "")
    paginator = Paginator(selectors.campaigns_visible(user=request.user, state=state, query=query), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    counts = selectors.campaign_states_counted(user=request.user)
    context = {
        "page": page,
        "state": state,
        "q": query,
        "states": [(value, label, counts[value]) for value, label in State.choices],
        "query": f"state={state}" if state else "",
        "active": "campaigns",
    }
    return render(request, "campaigns/list.html", context)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_calendar(request: HttpRequest) -> HttpResponse:
    jalali = (get_language() or "").startswith("fa")
    month = selectors.campaigns_calendar(
        user=request.user,
        year=_int(request.GET.get("year")),
        month=_int(request.GET.get("month")),
        jalali=jalali,
    )
    if jalali:
        weekdays = [_("Sat"), _("Sun"), _("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri")]
    else:
        weekdays = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    return render(
        request,
        "campaigns/calendar.html",
        {"month": month, "weekdays": weekdays, "active": "campaigns"},
    )


# --- the plan ---


def _plan_form(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    if request.method == "POST":
        form = CampaignForm(request.POST)
    elif campaign is not None:
        form = CampaignForm(campaign=campaign)
    else:
        form = CampaignForm(initial={"owner": request.user.pk})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if campaign is None:
                    campaign = services.campaign_create(actor=request.user, plan=form.plan())
                else:
                    services.campaign_update(actor=request.user, campaign=campaign, plan=form.plan())
            except ValidationFailed as exc:
                form.add_service_errors(exc.errors)
                status = 422
            except Conflict as exc:
                form.add_error(None, str(exc))
                status = 409
            except PermissionDenied as exc:
                form.add_error(None, _("You may not do this (%(perm)s).") % {"perm": exc})
                status = 403
            else:
                messages.success(request, _("Saved."))
                return redirect("campaigns:detail", pk=campaign.pk)
        else:
            status = 422
    context = {
        "form": form,
        "campaign": campaign,
        "sections": form.channel_sections(),
        "personalisation_fields": list(FIELDS),
        "active": "campaigns",
    }
    return render(request, "campaigns/form.html", context, status=status)


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _plan_form(request, None)


@login_required
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    if campaign.state not in (State.DRAFT, State.REJECTED):
        return _detail(
            request, campaign, error=state_conflict(action="update", campaign=campaign), status=409
        )
    return _plan_form(request, campaign)


# --- a campaign's page ---


def _dry_run(campaign: Campaign) -> list[tuple[str, Any]] | None:
    """The contact policy's dry run as (rule, customers removed) lines, until the contact list is written; after
    that the decision rows themselves give the exclusions (in the results)."""
    if campaign.materialised_at is not None:
        return None
    labels = rule_labels()
    return [(labels.get(rule, rule), count) for rule, count in policy_dry_run(campaign=campaign)]


def _progress(campaign: Campaign) -> dict[str, Any]:
    """Sending progress from the outbox counts, and whether the page keeps polling."""
    progress: dict[str, Any] = dict(selectors.campaign_outbox_progress(campaign_id=campaign.pk))
    progress["polling"] = campaign.state == State.RUNNING
    progress["poll_seconds"] = POLL_SECONDS
    return progress


FUNNEL_ROW = 26
FUNNEL_BAR = 230  # of the chart's 400 units: labels, then bars, then values


def _funnel(results: campaign_results.CampaignResults, *, rtl: bool) -> list[dict[str, Any]]:
    """Bars of the funnel chart (inline SVG), each as a share of the audience, mirrored for right to left."""
    steps = [
        ("targeted", _("targeted"), results.targeted),
        ("treatment", _("treatment"), results.treatment),
        ("notified", _("notified"), results.notified),
        ("opened", _("opened"), results.opened),
        ("clicked", _("clicked"), results.clicked),
        ("responded", _("responded"), results.responded),
        ("converted", _("converted"), results.converted),
    ]
    top = max(results.targeted, 1)
    bars = []
    for n, (key, label, value) in enumerate(steps):
        width = round(FUNNEL_BAR * value / top, 1)
        if rtl:
            place = {"label_x": 285, "label_anchor": "start", "bar_x": 280 - width, "value_x": 276 - width}
            place["value_anchor"] = "end"
        else:
            place = {"label_x": 115, "label_anchor": "end", "bar_x": 120, "value_x": 124 + width}
            place["value_anchor"] = "start"
        bars.append(
            {"key": key, "label": label, "value": value, "bar_width": width, "y": FUNNEL_ROW * n, **place}
        )
    return bars


def _uplift_text(results: campaign_results.CampaignResults) -> dict[str, str] | None:
    """The uplift in words, in percentage points, or None when it cannot be measured yet."""
    u = results.uplift
    if u.difference is None or u.ci_low is None or u.ci_high is None or u.p_value is None:
        return None
    assert u.treatment_rate is not None and u.control_rate is not None
    summary = _(
        "Conversion %(treatment)s%% in treatment against %(control)s%% in control: "
        "uplift %(uplift)s percentage points (95%% interval %(low)s to %(high)s)."
    ) % {
        "treatment": lnumber(100 * u.treatment_rate, 2),
        "control": lnumber(100 * u.control_rate, 2),
        "uplift": lnumber(100 * u.difference, 2),
        "low": lnumber(100 * u.ci_low, 2),
        "high": lnumber(100 * u.ci_high, 2),
    }
    if u.p_value < 0.05:
        detail = _("p-value %(p)s: a difference this large is unlikely to be chance.") % {
            "p": lnumber(u.p_value, 4)
        }
    else:
        detail = _("p-value %(p)s: the difference may be chance.") % {"p": lnumber(u.p_value, 4)}
    return {"summary": summary, "detail": detail}


def _detail(
    request: HttpRequest,
    campaign: Campaign,
    *,
    error: str = "",
    status: int = 200,
    review_form: ReviewForm | None = None,
) -> HttpResponse:
    results = results_for_reading(campaign=campaign)
    history = AuditEntry.objects.filter(
        record_model="campaigns.campaign", record_id=str(campaign.pk)
    ).order_by("-at")[:HISTORY_SHOWN]
    templates = sorted(campaign.templates.all(), key=lambda t: (t.channel, t.language))
    context = {
        "campaign": campaign,
        "actions": selectors.campaign_actions(campaign=campaign, user=request.user),
        "review_form": review_form or ReviewForm(),
        "error": error,
        "results": results,
        "results_counted_at": results.computed_at if results.targeted >= RESULTS_KEPT_FROM else None,
        "funnel": _funnel(results, rtl=get_language_bidi()),
        "funnel_height": FUNNEL_ROW * 7,
        "uplift_text": _uplift_text(results),
        "roi_percent": 100 * results.roi if results.roi is not None else None,
        "excluded_rows": [(rule_labels().get(k, k), n) for k, n in results.excluded.items()],
        "progress": _progress(campaign),
        "dry_run_pending": campaign.materialised_at is None
        and campaign.state in (State.DRAFT, State.SUBMITTED, State.APPROVED),
        "templates": [
            {"t": t, "language_name": LANGUAGE_NAMES.get(t.language, t.language)} for t in templates
        ],
        "history": [(entry, _state_change(entry.changes)) for entry in history],
        "groups": Group,
        "active": "campaigns",
    }
    return render(request, "campaigns/detail.html", context, status=status)


def _state_change(changes: dict[str, Any]) -> str:
    """ "Draft → Submitted for approval" when an audit entry changed the state, else an empty string."""
    before, after = changes.get("state", [None, None])
    if after not in State.values:
        return ""
    names = [str(State(v).label) if v in State.values else "—" for v in (before, after)]
    return " → ".join(names)


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _campaign(pk))


ACTIONS: dict[str, Callable[..., Campaign]] = {
    "submit": services.campaign_submit,
    "approve": services.campaign_approve,
    "schedule": services.campaign_schedule,
    "launch": services.campaign_launch,
    "pause": services.campaign_pause,
    "resume": services.campaign_resume,
    "stop": services.campaign_stop,
}


@login_required
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One workflow step from a button; a refusal is shown on the campaign's page with 403, 409 or 422."""
    campaign = _campaign(pk)
    if not request.user.has_perm("campaigns.view_campaign"):
        return _detail(request, campaign, error=_("You may not see this campaign."), status=403)
    review_form = ReviewForm(request.POST)
    note = review_form.data.get("note", "") if review_form.is_valid() else ""
    try:
        if action == "reject":
            services.campaign_reject(campaign=campaign, actor=request.user, note=note)
        elif action == "approve":
            services.campaign_approve(campaign=campaign, actor=request.user, note=note)
        elif action in ACTIONS:
            ACTIONS[action](campaign=campaign, actor=request.user)
        else:
            raise Http404
    except PermissionDenied as exc:
        if isinstance(exc, MakerCannotCheck):
            text = str(exc)
        else:
            text = _("You may not do this (%(perm)s).") % {"perm": exc}
        return _detail(request, _campaign(pk), error=text, status=403)
    except Conflict as exc:
        return _detail(request, _campaign(pk), error=str(exc), status=409)
    except ValidationFailed as exc:
        for field, reasons in exc.errors.items():
            for reason in reasons:
                review_form.add_error("note" if field == "note" else None, reason)
        return _detail(request, _campaign(pk), error=str(exc), status=422, review_form=review_form)
    messages.success(request, _("Done: %(state)s.") % {"state": campaign.get_state_display()})
    return redirect("campaigns:detail", pk=pk)


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
@require_GET
def campaign_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled by htmx while the campaign runs."""
    campaign = get_object_or_404(Campaign, pk=pk)
    return render(
        request, "campaigns/_progress.html", {"campaign": campaign, "progress": _progress(campaign)}
    )


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
@require_GET
def campaign_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact policy's dry run alone, loaded by the campaign page after it shows."""
    campaign = get_object_or_404(Campaign, pk=pk)
    return render(
        request, "campaigns/_dry_run.html", {"campaign": campaign, "dry_run": _dry_run(campaign) or []}
    )


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
@require_GET
def campaign_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The results as CSV or XLSX."""
    campaign = get_object_or_404(Campaign.objects.select_related("offer"), pk=pk)
    results = results_for_reading(campaign=campaign)
    filename = f"campaign-{campaign.pk}-{slugify(campaign.name) or 'results'}"
    if fmt == "csv":
        response = HttpResponse(
            campaign_results.results_csv(results=results, rule_labels=rule_labels()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if fmt == "xlsx":
        response = HttpResponse(
            campaign_results.results_xlsx(results=results, title=campaign.name, rule_labels=rule_labels()),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    raise Http404


# --- previews ---


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
@require_GET
def template_preview(request: HttpRequest, pk: int, channel: str, language: str) -> HttpResponse:
    """One saved message in its brand layout, with example values, right to left for Persian."""
    campaign = _campaign(pk)
    template = campaign.templates.filter(channel=channel, language=language).first()
    if template is None:
        raise Http404
    preview = message_preview(
        campaign=campaign, channel=channel, language=language, subject=template.subject, body=template.body
    )
    return render(
        request,
        "campaigns/preview.html",
        {"campaign": campaign, "preview": preview, "active": "campaigns"},
    )


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
@require_POST
def draft_preview(request: HttpRequest, channel: str, language: str) -> HttpResponse:
    """A message being written, in the chosen brand layout (an htmx fragment of the plan form)."""
    if channel not in CampaignChannel.values or language not in LANGUAGE_NAMES:
        raise Http404
    prefix = f"tpl_{channel}_{language}_"
    brand_id = _int(request.POST.get("brand"))
    brand = Brand.objects.filter(pk=brand_id).first() if brand_id is not None else None
    preview = message_preview(
        campaign=None,
        brand=brand,
        channel=channel,
        language=language,
        subject=request.POST.get(prefix + "subject", ""),
        body=request.POST.get(prefix + "body", ""),
    )
    return render(request, "campaigns/_message.html", {"preview": preview})


# --- brand layouts ---


@login_required
@permission_required("campaigns.view_brand", raise_exception=True)
def brand_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/brands.html", {"brands": Brand.objects.all(), "active": "campaigns"})


def _brand_form(request: HttpRequest, brand: Brand | None) -> HttpResponse:
    form = BrandForm(request.POST or None, instance=brand)
    if request.method == "POST" and form.is_valid():
        services.brand_save(actor=request.user, brand=brand, values=form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("campaigns:brands")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "campaigns/brand_form.html",
        {"form": form, "brand": brand, "active": "campaigns"},
        status=status,
    )


@login_required
@permission_required("campaigns.add_brand", raise_exception=True)
def brand_create(request: HttpRequest) -> HttpResponse:
    return _brand_form(request, None)


@login_required
@permission_required("campaigns.change_brand", raise_exception=True)
def brand_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _brand_form(request, get_object_or_404(Brand, pk=pk))
