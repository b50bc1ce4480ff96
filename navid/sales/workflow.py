"""An application's life as a table: submitted -> in review -> approved | rejected, or withdrawn before a decision.

Services call `action_check` before changing anything; pages call `actions_allowed` to show only the buttons that
would work. Both read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from navid.core.errors import Conflict, PermissionDenied
from navid.sales.models import Application, ApplicationStatus


@dataclass(frozen=True)
class Action:
    name: str
    label: Promise
    permission: str
    sources: tuple[ApplicationStatus, ...]
    target: ApplicationStatus
    needs_note: bool = False


_OPEN = (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW)

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "review",
            _("Start the review"),
            "sales.decide_application",
            (ApplicationStatus.SUBMITTED,),
            ApplicationStatus.IN_REVIEW,
        ),
        Action(
            "approve",
            _("Approve"),
            "sales.decide_application",
            (ApplicationStatus.IN_REVIEW,),
            ApplicationStatus.APPROVED,
        ),
        Action(
            "reject",
            _("Reject"),
            "sales.decide_application",
            _OPEN,
            ApplicationStatus.REJECTED,
            needs_note=True,
        ),
        Action("withdraw", _("Withdraw"), "sales.change_application", _OPEN, ApplicationStatus.WITHDRAWN),
    )
}

# The next step, shown on the application's page.
NEXT_STEP: dict[str, Promise] = {
    ApplicationStatus.SUBMITTED: _("Check the answers and documents, then start the review."),
    ApplicationStatus.IN_REVIEW: _("Decide: approve the application, or reject it saying why."),
    ApplicationStatus.APPROVED: _("Open the product for the customer and tell them it is ready."),
    ApplicationStatus.REJECTED: _("Tell the customer the decision and the reason."),
    ApplicationStatus.WITHDRAWN: _("Nothing more: the customer withdrew the application."),
}


def state_conflict(*, action: str, application: Application) -> str:
    """Why `action` does not fit the application's status, or an empty string when it does."""
    spec = ACTIONS[action]
    if application.status in spec.sources:
        return ""
    return gettext("An application that is “%(status)s” cannot be given the action “%(action)s”.") % {
        "status": application.get_status_display(),
        "action": spec.label,
    }


def action_check(*, action: str, application: Application, actor: Any) -> Action:
    """The action if `actor` may do it now; PermissionDenied (403) or Conflict (409) otherwise."""
    if action not in ACTIONS:
        raise Conflict(gettext("Unknown action: %(action)s") % {"action": action})
    spec = ACTIONS[action]
    if actor is None or not actor.is_authenticated or not actor.has_perm(spec.permission):
        raise PermissionDenied(spec.permission)
    reason = state_conflict(action=action, application=application)
    if reason:
        raise Conflict(reason)
    return spec


def actions_allowed(*, application: Application, actor: Any) -> list[Action]:
    """The actions `actor` may do to `application` now, in the order of the table."""
    allowed = []
    for name in ACTIONS:
        try:
            allowed.append(action_check(action=name, application=application, actor=actor))
        except (PermissionDenied, Conflict):
            continue
    return allowed
