"""The lead pipeline: which stage follows which, the next-step hint shown to the manager and when it falls due."""

from __future__ import annotations

import datetime as dt

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from navid.sales.models import LeadStage

# The forward order; a lead may also be lost from any open stage.
FORWARD = (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.MEETING, LeadStage.PROPOSAL, LeadStage.WON)

HINTS: dict[str, Promise] = {
    LeadStage.NEW: _("Call the customer within a day: introduce yourself and ask what they need."),
    LeadStage.CONTACTED: _("Agree a meeting at the branch or a visit, and say which documents to bring."),
    LeadStage.MEETING: _("Hold the meeting, check eligibility and prepare a proposal with the terms."),
    LeadStage.PROPOSAL: _("Follow up on the proposal: answer questions and help with the application."),
    LeadStage.WON: _("Done: make sure the product is opened and welcome the customer."),
    LeadStage.LOST: _("Closed: note why, so that the next campaign can do better."),
}

# How long the manager has for the next step once a lead enters a stage.
DUE_AFTER: dict[str, dt.timedelta] = {
    LeadStage.NEW: dt.timedelta(days=1),
    LeadStage.CONTACTED: dt.timedelta(days=3),
    LeadStage.MEETING: dt.timedelta(days=5),
    LeadStage.PROPOSAL: dt.timedelta(days=7),
}


def stage_hint(stage: str) -> str:
    return str(HINTS[stage])


def due_after(stage: str, now: dt.datetime) -> dt.datetime | None:
    """When the next step of a lead entering `stage` at `now` falls due; None for a closed lead."""
    delta = DUE_AFTER.get(stage)
    return now + delta if delta is not None else None


def next_stages(stage: str) -> list[LeadStage]:
    """The stages a manager may move a lead to: forward (skipping is allowed) or lost; none once closed."""
    if stage in (LeadStage.WON, LeadStage.LOST):
        return []
    position = FORWARD.index(LeadStage(stage))
    return [*FORWARD[position + 1 :], LeadStage.LOST]


def stages_between(current: str, target: str) -> list[LeadStage]:
    """The stages passed through when moving forward from `current` to `target` (both excluded)."""
    if target == LeadStage.LOST:
        return []
    return list(FORWARD[FORWARD.index(LeadStage(current)) + 1 : FORWARD.index(LeadStage(target))])
