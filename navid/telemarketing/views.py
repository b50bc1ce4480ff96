"""Pages of telemarketing: the agent console, the supervisor's board, campaign call setup and call reports.

The console's live parts are htmx fragments: the waiting panel polls every 2 seconds until a call is in hand
(that poll is also the heartbeat that keeps the agent's lease); while a call is shown only a small status line
polls, so the outcome form is never replaced under the agent's fingers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navid.campaigns.models import Campaign, State
from navid.core.errors import Conflict, ValidationFailed
from navid.telemarketing import selectors, services
from navid.telemarketing.forms import (
    AgentForm,
    CallSettingsForm,
    OutcomeCodeForm,
    OutcomeForm,
    ScriptBranchForm,
    ScriptNodeForm,
)
from navid.telemarketing.models import (
    Agent,
    AgentState,
    AttemptState,
    CallAttempt,
    CallSettings,
    OutcomeCode,
    ScriptNode,
)

CONSOLE = "telemarketing.work_console"
SUPERVISE = "telemarketing.supervise_calls"
MANAGE = "telemarketing.manage_call_campaigns"
REPORTS = "telemarketing.view_call_reports"


def _errors(exc: ValidationFailed) -> str:
    return " ".join(f"{field}: {reason}" for field, reasons in exc.errors.items() for reason in reasons)


def _through_dialer(attempt: CallAttempt) -> bool:
    """Preview calls go through the dialer process when an exchange is configured, the campaign has a trunk and the
    agent an extension; otherwise the agent dials by hand."""
    trunk = services.call_settings_for(campaign_id=attempt.campaign_id).trunk
    extension = attempt.agent.extension if attempt.agent else ""
    return bool(settings.NAVID_AMI_URL and trunk and extension)


# The agent console ---------------------------------------------------------------------------------------------------
@login_required
@permission_required(CONSOLE, raise_exception=True)
def console(request: HttpRequest) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    context = {"agent": agent, "states": AgentState, "active": "console"}
    return render(request, "telemarketing/console.html", context)


def _panel(request: HttpRequest, agent: Agent, *, form: OutcomeForm | None = None) -> HttpResponse:
    attempt = services.next_call_take(agent=agent)
    agent.refresh_from_db()
    context: dict[str, Any] = {
        "agent": agent,
        "attempt": attempt,
        "states": AgentState,
        "attempt_states": AttemptState,
    }
    if attempt is None:
        context["queue"] = selectors.agent_queue(agent=agent)
        return render(request, "telemarketing/_console_waiting.html", context)
    context.update(
        summary=selectors.customer_summary(user=request.user, customer_id=attempt.customer_id),
        script=selectors.script_start(campaign_id=attempt.campaign_id),
        form=form or OutcomeForm(campaign_id=attempt.campaign_id),
        codes=selectors.outcome_codes_for_agents(campaign_id=attempt.campaign_id),
        offer=attempt.campaign.offer,
        call_settings=services.call_settings_for(campaign_id=attempt.campaign_id),
    )
    return render(request, "telemarketing/_console_call.html", context)


@login_required
@permission_required(CONSOLE, raise_exception=True)
def console_panel(request: HttpRequest) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    services.agent_heartbeat(agent=agent)
    return _panel(request, agent)


@login_required
@permission_required(CONSOLE, raise_exception=True)
def console_status(request: HttpRequest, pk: int) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    services.agent_heartbeat(agent=agent)
    attempt = get_object_or_404(CallAttempt, pk=pk, agent=agent)
    agent.refresh_from_db()
    return render(
        request,
        "telemarketing/_console_status.html",
        {"attempt": attempt, "agent": agent, "attempt_states": AttemptState},
    )


@login_required
@permission_required(CONSOLE, raise_exception=True)
@require_POST
def console_state(request: HttpRequest) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    try:
        services.agent_set_state(agent=agent, state=request.POST.get("state", ""))
    except ValidationFailed as exc:
        messages.error(request, _errors(exc))
    except Conflict as exc:
        messages.warning(request, str(exc))
    return redirect("telemarketing:console")


@login_required
@permission_required(CONSOLE, raise_exception=True)
@require_POST
def console_call(request: HttpRequest, pk: int) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    attempt = get_object_or_404(CallAttempt, pk=pk, agent=agent)
    try:
        services.attempt_call(attempt=attempt, through_dialer=_through_dialer(attempt))
    except Conflict as exc:
        response = _panel(request, agent)
        response.content = f'<div class="alert alert-warning">{exc}</div>'.encode() + response.content
        return response
    return _panel(request, agent)


@login_required
@permission_required(CONSOLE, raise_exception=True)
@require_POST
def console_hangup(request: HttpRequest, pk: int) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    attempt = get_object_or_404(CallAttempt, pk=pk, agent=agent)
    services.attempt_hang_up(attempt=attempt)
    return console_status(request, pk)


@login_required
@permission_required(CONSOLE, raise_exception=True)
@require_POST
def console_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    agent = services.agent_for(user=request.user)
    attempt = get_object_or_404(CallAttempt, pk=pk, agent=agent)
    form = OutcomeForm(request.POST, campaign_id=attempt.campaign_id)
    if not form.is_valid():
        return _panel(request, agent, form=form)
    try:
        services.attempt_close(
            actor=request.user,
            attempt=attempt,
            outcome=form.cleaned_data["outcome"],
            notes=form.cleaned_data["notes"],
            callback_at=form.cleaned_data["callback_at"],
        )
    except ValidationFailed as exc:
        for field, reasons in exc.errors.items():
            form.add_error(field if field in form.fields else None, reasons)
        return _panel(request, agent, form=form)
    except Conflict as exc:
        messages.warning(request, str(exc))
    return _panel(request, agent)


@login_required
@permission_required(CONSOLE, raise_exception=True)
def console_script(request: HttpRequest, pk: int) -> HttpResponse:
    node = get_object_or_404(ScriptNode.objects.prefetch_related("branches"), pk=pk)
    return render(request, "telemarketing/_script_node.html", {"node": node})


# The supervisor ------------------------------------------------------------------------------------------------------
def _running_campaign_ids() -> list[int]:
    return list(
        selectors.telemarketing_campaigns()
        .filter(state__in=[State.RUNNING, State.PAUSED])
        .values_list("pk", flat=True)
    )


@login_required
@permission_required(SUPERVISE, raise_exception=True)
def supervisor(request: HttpRequest) -> HttpResponse:
    agents = Agent.objects.select_related("user").order_by("user__username")
    context = {"agents": agents, "active": "supervisor", **_board_context()}
    return render(request, "telemarketing/supervisor.html", context)


def _board_context() -> dict[str, Any]:
    return {
        "board": selectors.agents_board(),
        "calls": selectors.calls_in_progress(),
        "progress": selectors.campaign_progress(campaign_ids=_running_campaign_ids()),
    }


@login_required
@permission_required(SUPERVISE, raise_exception=True)
def supervisor_board(request: HttpRequest) -> HttpResponse:
    services.stale_release()
    return render(request, "telemarketing/_supervisor_board.html", _board_context())


@login_required
@permission_required(SUPERVISE, raise_exception=True)
@require_POST
def supervisor_reassign(request: HttpRequest) -> HttpResponse:
    agents = Agent.objects.all()
    from_id, to_id = request.POST.get("from_agent", ""), request.POST.get("to_agent", "")
    from_agent = agents.filter(pk=from_id).first() if from_id.isdigit() else None
    to_agent = agents.filter(pk=to_id).first() if to_id.isdigit() else None
    if from_agent is None:
        messages.error(request, _("from_agent: Choose the agent whose calls are given away."))
        return redirect("telemarketing:supervisor")
    try:
        moved = services.entries_reassign(actor=request.user, from_agent=from_agent, to_agent=to_agent)
    except ValidationFailed as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("%(n)d calls were given to another agent.") % {"n": moved})
    return redirect("telemarketing:supervisor")


@login_required
@permission_required(SUPERVISE, raise_exception=True)
def agent_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    agent = services.agent_for(user=user)
    campaigns = selectors.telemarketing_campaigns()
    if request.method == "POST":
        form = AgentForm(request.POST)
        chosen = list(campaigns.filter(pk__in=request.POST.getlist("campaigns")))
        if form.is_valid():
            try:
                services.agent_save(actor=request.user, user=user, values=form.values(), campaigns=chosen)
            except ValidationFailed as exc:
                for field, reasons in exc.errors.items():
                    form.add_error(field if field in form.fields else None, reasons)
            else:
                messages.success(request, _("The agent is saved."))
                return redirect("telemarketing:supervisor")
    else:
        form = AgentForm(
            initial={
                "extension": agent.extension,
                "languages": ", ".join(agent.languages or []),
                "region": agent.region_id,
                "skills": ", ".join(agent.skills or []),
            }
        )
    context = {
        "form": form,
        "agent": agent,
        "campaigns": campaigns,
        "chosen": set(agent.campaigns.values_list("pk", flat=True)),
        "active": "supervisor",
    }
    return render(request, "telemarketing/agent_edit.html", context)


# Campaign setup ------------------------------------------------------------------------------------------------------
@login_required
@permission_required(REPORTS, raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.telemarketing_campaigns().select_related("call_settings")
    return render(
        request,
        "telemarketing/campaign_list.html",
        {"campaigns": campaigns, "can_manage": request.user.has_perm(MANAGE), "active": "call-campaigns"},
    )


def _setup_context(campaign: Campaign, **forms: Any) -> dict[str, Any]:
    settings_row = services.call_settings_for(campaign_id=campaign.pk)
    initial = {name: getattr(settings_row, name) for name in services.SETTINGS_FIELDS}
    nodes = list(ScriptNode.objects.filter(campaign=campaign).prefetch_related("branches__next_node"))
    return {
        "campaign": campaign,
        "settings_form": forms.get("settings_form") or CallSettingsForm(initial=initial),
        "outcome_form": forms.get("outcome_form") or OutcomeCodeForm(),
        "node_form": forms.get("node_form") or ScriptNodeForm(),
        "branch_form": forms.get("branch_form") or ScriptBranchForm(campaign_id=campaign.pk),
        "branch_node": forms.get("branch_node"),
        "blank_branch_form": ScriptBranchForm(campaign_id=campaign.pk),
        "codes": OutcomeCode.objects.filter(campaign=campaign),
        "nodes": nodes,
        "has_settings": CallSettings.objects.filter(campaign=campaign).exists(),
        "active": "call-campaigns",
    }


@login_required
@permission_required(MANAGE, raise_exception=True)
def campaign_setup(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.telemarketing_campaigns(), pk=pk)
    if request.method == "POST":
        form = CallSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.call_settings_save(actor=request.user, campaign=campaign, values=form.cleaned_data)
            except ValidationFailed as exc:
                for field, reasons in exc.errors.items():
                    form.add_error(field if field in form.fields else None, reasons)
            else:
                messages.success(request, _("The call settings are saved."))
                return redirect("telemarketing:campaign-setup", pk=pk)
        return render(
            request, "telemarketing/campaign_setup.html", _setup_context(campaign, settings_form=form)
        )
    return render(request, "telemarketing/campaign_setup.html", _setup_context(campaign))


def _setup_add(
    request: HttpRequest,
    campaign: Campaign,
    form: forms.Form,
    save: Callable[[Mapping[str, Any]], object],
    done: str,
    **context: Any,
) -> HttpResponse:
    """One "add" form of the call setup page: save the checked values, or show the page with the form's errors."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationFailed as exc:
            for field, reasons in exc.errors.items():
                form.add_error(field if field in form.fields else None, reasons)
        else:
            messages.success(request, done)
            return redirect("telemarketing:campaign-setup", pk=campaign.pk)
    return render(request, "telemarketing/campaign_setup.html", _setup_context(campaign, **context))


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def outcome_add(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.telemarketing_campaigns(), pk=pk)
    form = OutcomeCodeForm(request.POST)
    return _setup_add(
        request,
        campaign,
        form,
        lambda values: services.outcome_code_save(actor=request.user, campaign=campaign, values=values),
        _("The outcome is added."),
        outcome_form=form,
    )


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def node_add(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.telemarketing_campaigns(), pk=pk)
    form = ScriptNodeForm(request.POST)
    return _setup_add(
        request,
        campaign,
        form,
        lambda values: services.script_node_save(actor=request.user, campaign=campaign, values=values),
        _("The script step is added."),
        node_form=form,
    )


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def branch_add(request: HttpRequest, pk: int, node_pk: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.telemarketing_campaigns(), pk=pk)
    node = get_object_or_404(ScriptNode, pk=node_pk, campaign=campaign)
    form = ScriptBranchForm(request.POST, campaign_id=campaign.pk)
    return _setup_add(
        request,
        campaign,
        form,
        lambda values: services.script_branch_save(actor=request.user, node=node, values=values),
        _("The answer is added."),
        branch_form=form,
        branch_node=node,
    )


# Reports -------------------------------------------------------------------------------------------------------------
@login_required
@permission_required(REPORTS, raise_exception=True)
def reports(request: HttpRequest) -> HttpResponse:
    campaign_id = request.GET.get("campaign", "")
    chosen = int(campaign_id) if campaign_id.isdigit() else None
    context = {
        "by_campaign": selectors.call_report_by_campaign(),
        "by_agent": selectors.call_report_by_agent(campaign_id=chosen),
        "by_segment": selectors.call_report_by_segment(),
        "campaigns": selectors.telemarketing_campaigns(),
        "chosen": chosen,
        "active": "call-reports",
    }
    return render(request, "telemarketing/reports.html", context)
