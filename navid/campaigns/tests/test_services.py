"""Campaign plan and workflow services: checks, maker-checker, states, audit log, work scheduled after commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from celery import current_app
from django.db import connection
from django.utils import timezone

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.campaigns import services
from navid.campaigns.models import Campaign, OutboxMessage, OutboxState, State
from navid.campaigns.plans import TemplateData
from navid.campaigns.scheduling import start_due_campaigns
from navid.campaigns.tests.factories import BrandFactory
from navid.campaigns.tests.plan_helpers import fast_passwords, plan, segment
from navid.campaigns.workflow import MakerCannotCheck
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.offers.tests.factories import OfferFactory

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]


@pytest.fixture
def people(make_user: Any) -> dict[str, Any]:
    return {
        "maker": make_user(Role.CAMPAIGN_MANAGER, username="maker"),
        "colleague": make_user(Role.CAMPAIGN_MANAGER, username="colleague"),
        "director": make_user(Role.MARKETING_DIRECTOR, username="director"),
        "admin": make_user(Role.ADMINISTRATOR, username="admin"),
        "analyst": make_user(Role.MARKETING_ANALYST, username="analyst"),
    }


@pytest.fixture
def sent(monkeypatch: Any) -> list[tuple[str, list[Any]]]:
    """What was handed to the broker (recorded instead of sent, so that no worker runs)."""
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args=None, **kw: calls.append((name, args)))
    return calls


def _draft(people: dict[str, Any], **changes: Any) -> Campaign:
    return services.campaign_create(
        actor=people["maker"],
        plan=plan(
            owner=people["maker"], target=segment(), offer=OfferFactory(), brand=BrandFactory(), **changes
        ),
    )


def _approved(people: dict[str, Any]) -> Campaign:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    return services.campaign_approve(campaign=campaign, actor=people["director"])


def test_a_manager_saves_a_complete_plan_as_a_draft_with_an_audit_entry(people: dict[str, Any]) -> None:
    campaign = _draft(people)

    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT
    assert campaign.owner == people["maker"]
    assert campaign.control_seed == 424242
    assert [(c.channel, c.priority, c.unit_cost) for c in campaign.channel_plans.order_by("priority")] == [
        ("email", 1, Decimal("50.00")),
        ("sms", 2, Decimal("300.00")),
    ]
    assert sorted(campaign.templates.values_list("channel", "language")) == [
        ("email", "en"),
        ("email", "fa"),
        ("sms", "fa"),
    ]
    entry = AuditEntry.objects.get(record_model="campaigns.campaign", record_id=str(campaign.pk))
    assert entry.actor == people["maker"]
    assert entry.changes["state"] == [None, "draft"]
    assert entry.changes["channels"][1] == [
        ["email", 1, "50.00", "1000000.00", 100],
        ["sms", 2, "300.00", "3000000.00", 100],
    ]


def test_without_a_seed_one_is_drawn_once_and_kept_on_later_edits(people: dict[str, Any]) -> None:
    campaign = _draft(people, control_seed=None)
    seed = campaign.control_seed
    assert seed is not None and 0 <= seed < 2**31

    services.campaign_update(
        actor=people["maker"],
        campaign=campaign,
        plan=dataclasses.replace(_plan_of(campaign), control_seed=None),
    )
    campaign.refresh_from_db()
    assert campaign.control_seed == seed


def _plan_of(campaign: Campaign) -> Any:
    from navid.campaigns.selectors import campaign_plan

    return campaign_plan(campaign=campaign)


def test_a_bad_plan_is_refused_as_a_whole_with_every_error_at_its_field(people: dict[str, Any]) -> None:
    target = segment()
    bad = plan(
        owner=people["maker"],
        target=target,
        offer=OfferFactory(),
        target_segment_ids=[],
        exclusion_segment_ids=[target.pk],
        ends_at=plan(owner=people["maker"], target=target).starts_at,
        budget_planned=Decimal("-1"),
        templates=[TemplateData("email", "en", "Hello {first_nme} from {branch}", "Hi")],
    )

    with pytest.raises(ValidationFailed) as caught:
        services.campaign_create(actor=people["maker"], plan=bad)

    errors = caught.value.errors
    assert errors["target_segments"] == ["Choose at least one target segment."]
    assert errors["ends_at"] == ["The end must be after the start."]
    assert errors["budget_planned"] == ["The budget cannot be negative."]
    assert errors["templates.email.en.body"][0].startswith(
        "Unknown fields: {first_nme}. Known fields: {first_name},"
    )
    assert errors["templates.sms.any.body"] == ["Write the message of “SMS” in at least one language."]
    assert Campaign.objects.count() == 0


def test_a_segment_cannot_be_both_targeted_and_excluded(people: dict[str, Any]) -> None:
    target = segment("Salary customers")
    with pytest.raises(ValidationFailed) as caught:
        services.campaign_create(
            actor=people["maker"],
            plan=plan(
                owner=people["maker"], target=target, offer=OfferFactory(), exclusion_segment_ids=[target.pk]
            ),
        )
    assert caught.value.errors == {
        "exclusion_segments": ["A segment cannot be both targeted and excluded: Salary customers."]
    }


def test_planned_channel_costs_may_not_exceed_the_budget(people: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _draft(people, budget_planned=Decimal("3999999"))
    assert caught.value.errors == {
        "budget_planned": ["The channels' planned costs add up to 4000000, more than the budget."]
    }


def test_an_analyst_may_not_create_a_campaign(people: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            actor=people["analyst"], plan=plan(owner=people["maker"], target=segment(), offer=OfferFactory())
        )
    assert Campaign.objects.count() == 0


def test_maker_submits_director_approves_and_launch_schedules_the_task_after_commit(
    people: dict[str, Any], sent: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    assert campaign.state == State.SUBMITTED
    assert campaign.submitted_by == people["maker"]

    services.campaign_approve(campaign=campaign, actor=people["director"], note="Fine.")
    assert (campaign.state, campaign.approved_by, campaign.review_note) == (
        State.APPROVED,
        people["director"],
        "Fine.",
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.campaign_launch(campaign=campaign, actor=people["maker"])
    assert campaign.state == State.RUNNING
    assert sent == []  # nothing is sent before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [("navid.campaigns.tasks.launch_campaign", [campaign.pk])]

    states = [
        e.changes["state"]
        for e in AuditEntry.objects.filter(
            record_model="campaigns.campaign", record_id=str(campaign.pk)
        ).order_by("pk")
    ]
    assert states == [
        [None, "draft"],
        ["draft", "submitted"],
        ["submitted", "approved"],
        ["approved", "running"],
    ]


def test_the_maker_cannot_approve_even_when_holding_the_permission(people: dict[str, Any]) -> None:
    campaign = services.campaign_create(
        actor=people["admin"], plan=plan(owner=people["admin"], target=segment(), offer=OfferFactory())
    )
    services.campaign_submit(campaign=campaign, actor=people["admin"])

    with pytest.raises(MakerCannotCheck, match="cannot approve or reject it; another person must"):
        services.campaign_approve(campaign=campaign, actor=people["admin"])
    campaign.refresh_from_db()
    assert campaign.state == State.SUBMITTED


def test_a_submitter_who_is_not_the_owner_cannot_approve_either(people: dict[str, Any]) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["admin"])
    with pytest.raises(MakerCannotCheck):
        services.campaign_approve(campaign=campaign, actor=people["admin"])
    services.campaign_approve(campaign=campaign, actor=people["director"])
    assert campaign.state == State.APPROVED


def test_a_manager_without_the_approve_permission_gets_permission_denied(people: dict[str, Any]) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    with pytest.raises(PermissionDenied) as caught:
        services.campaign_approve(campaign=campaign, actor=people["colleague"])
    assert str(caught.value) == "campaigns.approve_campaign"


@pytest.mark.parametrize("submitted", [False, True])
def test_an_unapproved_campaign_cannot_be_launched(
    people: dict[str, Any], sent: list[Any], submitted: bool, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = _draft(people)
    if submitted:
        services.campaign_submit(campaign=campaign, actor=people["maker"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict) as caught:
        services.campaign_launch(campaign=campaign, actor=people["maker"])
    expected = (
        "The campaign has not been approved yet, so it cannot be launched."
        if submitted
        else "The campaign has not been approved, so it cannot be launched."
    )
    assert str(caught.value) == expected
    assert sent == []


def test_a_running_campaign_cannot_be_edited_only_paused_and_stopped(
    people: dict[str, Any], sent: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    campaign = _approved(people)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_launch(campaign=campaign, actor=people["maker"])

    with pytest.raises(
        Conflict, match=r"The campaign is running: it cannot be edited, only paused or stopped\."
    ):
        services.campaign_update(actor=people["maker"], campaign=campaign, plan=_plan_of(campaign))
    with pytest.raises(Conflict):
        services.campaign_submit(campaign=campaign, actor=people["maker"])

    services.campaign_pause(campaign=campaign, actor=people["maker"])
    assert campaign.state == State.PAUSED
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=campaign, actor=people["maker"])
    assert campaign.state == State.RUNNING
    assert sent == [("navid.campaigns.tasks.launch_campaign", [campaign.pk])] * 2


def test_stop_cancels_the_messages_not_yet_claimed_and_keeps_the_others(
    people: dict[str, Any], sent: list[Any]
) -> None:
    campaign = _approved(people)
    services.campaign_launch(campaign=campaign, actor=people["maker"])
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            campaign=campaign,
            customer=customer,
            channel="email",
            language="en",
            address=f"{customer.pk}@example.com",
            idempotency_key=f"{campaign.pk}:1:{customer.pk}:email",
            state=state,
        )
        for customer, state in ((a, OutboxState.PENDING), (b, OutboxState.SENT), (c, OutboxState.CLAIMED))
    )

    services.campaign_stop(campaign=campaign, actor=people["director"])

    assert campaign.state == State.STOPPED and campaign.finished_at is not None
    states = dict(OutboxMessage.objects.filter(campaign=campaign).values_list("customer_id", "state"))
    assert states == {a.pk: "cancelled", b.pk: "sent", c.pk: "claimed"}
    with pytest.raises(Conflict):
        services.campaign_resume(campaign=campaign, actor=people["maker"])


def test_reject_needs_a_reason_and_a_rejected_campaign_goes_back_to_draft_when_edited(
    people: dict[str, Any],
) -> None:
    campaign = _draft(people)
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    with pytest.raises(ValidationFailed) as caught:
        services.campaign_reject(campaign=campaign, actor=people["director"], note="  ")
    assert caught.value.errors == {"note": ["Say why the campaign is rejected."]}

    services.campaign_reject(campaign=campaign, actor=people["director"], note="Budget too high.")
    assert (campaign.state, campaign.review_note) == (State.REJECTED, "Budget too high.")
    with pytest.raises(Conflict, match="rejected, so it cannot be launched"):
        services.campaign_launch(campaign=campaign, actor=people["maker"])

    services.campaign_update(
        actor=people["maker"],
        campaign=campaign,
        plan=dataclasses.replace(_plan_of(campaign), budget_planned=Decimal("4000000")),
    )
    assert campaign.state == State.DRAFT
    assert campaign.budget_planned == Decimal("4000000")
    services.campaign_submit(campaign=campaign, actor=people["maker"])
    assert campaign.state == State.SUBMITTED


def test_submit_checks_the_saved_plan_again(people: dict[str, Any]) -> None:
    campaign = _draft(people)
    campaign.target_segments.update(is_archived=True)
    with pytest.raises(ValidationFailed) as caught:
        services.campaign_submit(campaign=campaign, actor=people["maker"])
    assert list(caught.value.errors) == ["target_segments"]
    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT


def test_the_scheduler_starts_due_campaigns_once(
    people: dict[str, Any], sent: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    due = _approved(people)
    services.campaign_schedule(campaign=due, actor=people["maker"])
    later = _approved(people)
    services.campaign_schedule(campaign=later, actor=people["maker"])
    Campaign.objects.filter(pk=due.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=1))
    Campaign.objects.filter(pk=later.pk).update(starts_at=timezone.now() + dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert start_due_campaigns() == [due.pk]
        assert start_due_campaigns() == []

    assert Campaign.objects.get(pk=due.pk).state == State.RUNNING
    assert Campaign.objects.get(pk=later.pk).state == State.SCHEDULED
    assert sent == [("navid.campaigns.tasks.launch_campaign", [due.pk])]


def test_complete_marks_a_running_campaign_once(people: dict[str, Any], sent: list[Any]) -> None:
    campaign = _approved(people)
    services.campaign_launch(campaign=campaign, actor=people["maker"])
    assert services.campaign_complete(campaign_id=campaign.pk) is True
    assert services.campaign_complete(campaign_id=campaign.pk) is False
    campaign.refresh_from_db()
    assert campaign.state == State.COMPLETED and campaign.finished_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_launches_at_once_start_the_campaign_once(people: dict[str, Any], sent: list[Any]) -> None:
    campaign = _approved(people)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def launch() -> None:
        try:
            barrier.wait()
            services.campaign_launch(campaign=Campaign.objects.get(pk=campaign.pk), actor=people["maker"])
            outcomes.append("launched")
        except Conflict as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=launch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [
        "A campaign that is “Running” cannot be given the action “Launch now”.",
        "launched",
    ]
    assert sent == [("navid.campaigns.tasks.launch_campaign", [campaign.pk])]
    assert Campaign.objects.get(pk=campaign.pk).state == State.RUNNING
