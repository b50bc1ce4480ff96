"""The campaign's life as a state machine (R9): who may do what, and from which state.

draft -> submitted -> approved | rejected -> scheduled -> running <-> paused -> completed | stopped.
The services in `services.py` call `action_check` before changing anything; the pages call `actions_allowed`
to show only the buttons that would work. Both read the same table, so a button is never shown for an action
the service would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from navid.campaigns.models import Campaign, State
from navid.core.errors import Conflict, PermissionDenied


class MakerCannotCheck(PermissionDenied):
    """The person who made or submitted a campaign tried to approve or reject it (maker-checker)."""


@dataclass(frozen=True)
class Action:
    """One transition: the permission it needs, the states it starts from and the state it leads to."""

    name: str
    label: Promise
    permission: str
    sources: tuple[State, ...]
    target: State | None
    checker: bool = False  # approve and reject: never by the maker


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("update", _("Edit"), "campaigns.change_campaign", (State.DRAFT, State.REJECTED), State.DRAFT),
        Action(
            "submit",
            _("Submit for approval"),
            "campaigns.change_campaign",
            (State.DRAFT, State.REJECTED),
            State.SUBMITTED,
        ),
        Action(
            "approve",
            _("Approve"),
            "campaigns.approve_campaign",
            (State.SUBMITTED,),
            State.APPROVED,
            checker=True,
        ),
        Action(
            "reject",
            _("Reject"),
            "campaigns.approve_campaign",
            (State.SUBMITTED,),
            State.REJECTED,
            checker=True,
        ),
        Action("schedule", _("Schedule"), "campaigns.run_campaign", (State.APPROVED,), State.SCHEDULED),
        Action(
            "launch",
            _("Launch now"),
            "campaigns.run_campaign",
            (State.APPROVED, State.SCHEDULED),
            State.RUNNING,
        ),
        Action("pause", _("Pause"), "campaigns.run_campaign", (State.RUNNING,), State.PAUSED),
        Action("resume", _("Resume"), "campaigns.run_campaign", (State.PAUSED,), State.RUNNING),
        Action(
            "stop",
            _("Stop"),
            "campaigns.run_campaign",
            (State.APPROVED, State.SCHEDULED, State.RUNNING, State.PAUSED),
            State.STOPPED,
        ),
    )
}

# Why an action does not fit a state, where a more precise sentence than the general one helps.
_CONFLICTS: dict[tuple[str, str], Promise] = {
    ("update", State.SUBMITTED): _("The campaign is waiting for approval; it cannot be edited now."),
    ("update", State.APPROVED): _("The campaign is approved; it cannot be edited any more."),
    ("update", State.SCHEDULED): _("The campaign is scheduled; it cannot be edited any more."),
    ("update", State.RUNNING): _("The campaign is running: it cannot be edited, only paused or stopped."),
    ("update", State.PAUSED): _("The campaign has started: it cannot be edited, only resumed or stopped."),
    ("launch", State.DRAFT): _("The campaign has not been approved, so it cannot be launched."),
    ("launch", State.SUBMITTED): _("The campaign has not been approved yet, so it cannot be launched."),
    ("launch", State.REJECTED): _("The campaign was rejected, so it cannot be launched."),
    ("schedule", State.DRAFT): _("The campaign has not been approved, so it cannot be scheduled."),
    ("schedule", State.SUBMITTED): _("The campaign has not been approved yet, so it cannot be scheduled."),
    ("schedule", State.REJECTED): _("The campaign was rejected, so it cannot be scheduled."),
    ("approve", State.DRAFT): _("The campaign has not been submitted for approval."),
    ("reject", State.DRAFT): _("The campaign has not been submitted for approval."),
}


def _is_maker(campaign: Campaign, actor: Any) -> bool:
    return actor.pk in {campaign.owner_id, campaign.submitted_by_id}


def action_check(*, action: str, campaign: Campaign, actor: Any) -> Action:
    """The action if `actor` may do it to `campaign` now; PermissionDenied (403) or Conflict (409) otherwise."""
    spec = ACTIONS[action]
    if actor is None or not actor.is_authenticated or not actor.has_perm(spec.permission):
        raise PermissionDenied(spec.permission)
    if spec.checker and _is_maker(campaign, actor):
        raise MakerCannotCheck(
            gettext(
                "The person who made or submitted a campaign cannot approve or reject it; another person must."
            )
        )
    reason = state_conflict(action=action, campaign=campaign)
    if reason:
        raise Conflict(reason)
    return spec


def state_conflict(*, action: str, campaign: Campaign) -> str:
    """Why `action` does not fit the campaign's state, or an empty string when it does."""
    spec = ACTIONS[action]
    if campaign.state in spec.sources:
        return ""
    precise = _CONFLICTS.get((action, campaign.state))
    if precise is not None:
        return str(precise)
    return gettext("A campaign that is “%(state)s” cannot be given the action “%(action)s”.") % {
        "state": campaign.get_state_display(),
        "action": spec.label,
    }


def actions_allowed(*, campaign: Campaign, actor: Any) -> list[Action]:
    """The actions `actor` may do to `campaign` now, in the order of the table."""
    allowed = []
    for name in ACTIONS:
        try:
            allowed.append(action_check(action=name, campaign=campaign, actor=actor))
        except (PermissionDenied, Conflict):
            continue
    return allowed
