"""Call lists, assignment, taking calls, outcomes, callbacks, do-not-call and leases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from navid.accounts.roles import Role
from navid.accounts.tests.factories import RegionFactory, UserFactory
from navid.campaigns.models import CampaignChannel, ContactPolicy, OutboxMessage, OutboxState, Suppression
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.models import Consent
from navid.interactions.models import Interaction
from navid.sales.models import FollowUp, Lead
from navid.telemarketing import services
from navid.telemarketing.models import (
    AgentState,
    AssignmentRule,
    AttemptState,
    CallAttempt,
    CallEntry,
    EntryState,
)
from navid.telemarketing.tests.factories import AgentFactory, call_campaign, code, phone_customers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roles(roles: None) -> None:
    return None


def _ready(agent: Any) -> Any:
    return services.agent_set_state(agent=agent, state=AgentState.READY)


def test_call_list_sync_writes_one_entry_per_phone_row_once() -> None:
    customers = phone_customers(3)
    campaign = call_campaign(customers=customers)
    assert CallEntry.objects.filter(campaign=campaign).count() == 3
    # given an email row of the same campaign and a second sync
    outbox = OutboxMessage.objects.filter(campaign=campaign).first()
    assert outbox is not None
    assert services.call_list_sync(campaign_id=campaign.pk) == 0
    entry = CallEntry.objects.get(outbox_id=outbox.pk)
    assert (entry.customer_id, entry.phone, entry.state, entry.attempts) == (
        outbox.customer_id,
        outbox.address,
        EntryState.QUEUED,
        0,
    )


def test_round_robin_assignment_deals_entries_in_turn() -> None:
    agents = AgentFactory.create_batch(2)
    campaign = call_campaign(customers=phone_customers(5), agents=agents)
    counts = sorted(CallEntry.objects.filter(campaign=campaign).values_list("agent_id", flat=True))
    assert counts == sorted([agents[0].pk] * 3 + [agents[1].pk] * 2)


def test_language_assignment_matches_the_customers_language() -> None:
    persian = AgentFactory(languages=["fa"])
    russian = AgentFactory(languages=["ru", "en"])
    customers = phone_customers(2, language="fa") + phone_customers(2, language="ru")
    campaign = call_campaign(
        customers=customers, agents=[persian, russian], assignment=AssignmentRule.LANGUAGE
    )
    pairs = set(CallEntry.objects.filter(campaign=campaign).values_list("language", "agent_id"))
    assert pairs == {("fa", persian.pk), ("ru", russian.pk)}


def test_region_assignment_leaves_unmatched_customers_to_the_supervisor() -> None:
    north, south = RegionFactory(), RegionFactory()
    agent = AgentFactory(region=north)
    customers = phone_customers(2, region=north) + phone_customers(1, region=south)
    campaign = call_campaign(customers=customers, agents=[agent], assignment=AssignmentRule.REGION)
    rows = dict(CallEntry.objects.filter(campaign=campaign).values_list("customer_id", "agent_id"))
    assert rows == {customers[0].pk: agent.pk, customers[1].pk: agent.pk, customers[2].pk: None}


def test_skill_assignment_only_to_agents_with_the_skill() -> None:
    skilled = AgentFactory(skills=["loans"])
    AgentFactory(skills=[])
    campaign = call_campaign(
        customers=phone_customers(3), agents=[skilled], assignment=AssignmentRule.SKILL, skill="loans"
    )
    assert set(CallEntry.objects.filter(campaign=campaign).values_list("agent_id", flat=True)) == {skilled.pk}


def test_workload_assignment_fills_the_least_loaded_agent_first() -> None:
    busy, free = AgentFactory(), AgentFactory()
    call_campaign(customers=phone_customers(3), agents=[busy])  # busy holds 3 open entries elsewhere
    campaign = call_campaign(
        customers=phone_customers(5), agents=[busy, free], assignment=AssignmentRule.WORKLOAD
    )
    rows = list(CallEntry.objects.filter(campaign=campaign).order_by("pk").values_list("agent_id", flat=True))
    # free takes 3 to catch up, then they alternate, the lower id first on a tie
    assert rows == [free.pk, free.pk, free.pk, busy.pk, free.pk]


def test_supervisor_reassigns_an_agents_entries(make_user: Any) -> None:
    supervisor = make_user(Role.CHANNEL_MANAGER)
    a, b = AgentFactory(), AgentFactory()
    campaign = call_campaign(customers=phone_customers(2), agents=[a])
    b.campaigns.add(campaign)
    assert services.entries_reassign(actor=supervisor, from_agent=a, to_agent=b) == 2
    assert set(CallEntry.objects.values_list("agent_id", flat=True)) == {b.pk}
    agent_user = UserFactory(role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        services.entries_reassign(actor=agent_user, from_agent=b, to_agent=a)
    with pytest.raises(ValidationFailed) as caught:
        services.entries_reassign(actor=supervisor, to_agent=a)
    assert list(caught.value.errors) == ["entries"]


def test_ready_agent_takes_the_next_customer_and_two_agents_never_share_one() -> None:
    a, b = AgentFactory(), AgentFactory()
    campaign = call_campaign(customers=phone_customers(1))
    a.campaigns.add(campaign)
    b.campaigns.add(campaign)
    _ready(a)
    _ready(b)
    first = services.next_call_take(agent=a)
    assert first is not None and first.state == AttemptState.PREVIEW
    assert services.next_call_take(agent=b) is None
    # the same call again for a (a reload of the console), not a second one
    again = services.next_call_take(agent=a)
    assert again is not None and again.pk == first.pk
    assert CallEntry.objects.get().state == EntryState.ACTIVE


def test_the_same_customer_is_never_held_in_two_campaigns_at_once() -> None:
    a, b = AgentFactory(), AgentFactory()
    customer = phone_customers(1)
    one = call_campaign(customers=customer, agents=[a])
    two = call_campaign(customers=customer, agents=[b])
    _ready(a)
    _ready(b)
    assert services.next_call_take(agent=a) is not None
    assert services.next_call_take(agent=b) is None
    assert CallEntry.objects.get(campaign=two).state == EntryState.QUEUED
    assert CallEntry.objects.get(campaign=one).state == EntryState.ACTIVE


def test_ready_without_a_running_campaign_is_refused() -> None:
    agent = AgentFactory()
    with pytest.raises(Conflict):
        _ready(agent)
    with pytest.raises(ValidationFailed):
        services.agent_set_state(agent=agent, state="on_call")


def _talk(agent: Any, seconds: int = 90) -> CallAttempt:
    attempt = services.next_call_take(agent=agent)
    assert attempt is not None
    attempt = services.attempt_call(attempt=attempt, through_dialer=False)
    CallAttempt.objects.filter(pk=attempt.pk).update(
        answered_at=timezone.now() - dt.timedelta(seconds=seconds)
    )
    return CallAttempt.objects.get(pk=attempt.pk)


def test_interested_outcome_records_interaction_cost_and_a_follow_up(
    django_capture_on_commit_callbacks: Any,
) -> None:
    agent = AgentFactory()
    customers = phone_customers(1)
    campaign = call_campaign(customers=customers, agents=[agent], tariff_per_minute=Decimal("600"))
    _ready(agent)
    attempt = _talk(agent, 90)
    assert agent.__class__.objects.get(pk=agent.pk).state == AgentState.ON_CALL
    attempt = services.attempt_hang_up(attempt=attempt)
    assert agent.__class__.objects.get(pk=agent.pk).state == AgentState.WRAP_UP
    with django_capture_on_commit_callbacks(execute=True):
        closed = services.attempt_close(
            actor=agent.user, attempt=attempt, outcome=code(campaign, "interested"), notes="wants a deposit"
        )
    assert (closed.state, closed.talk_seconds, closed.cost) == (AttemptState.DONE, 90, Decimal("900.00"))
    assert closed.interaction_id is not None and closed.followup_id is not None
    interaction = Interaction.objects.get(pk=closed.interaction_id)
    assert (
        interaction.kind,
        interaction.outcome,
        interaction.duration_seconds,
        interaction.cost,
        interaction.campaign_id,
        interaction.employee_id,
    ) == ("call", "interested", 90, Decimal("900.00"), campaign.pk, agent.user_id)
    followup = FollowUp.objects.get(pk=closed.followup_id)
    assert (followup.source, followup.source_ref, followup.customer_id) == (
        "call_interested",
        f"call-attempt:{closed.pk}",
        customers[0].pk,
    )
    lead = Lead.objects.get()
    assert (lead.source, lead.source_ref, lead.customer_id, lead.campaign_id, lead.notes) == (
        "call_interested",
        f"call-attempt:{closed.pk}",
        customers[0].pk,
        campaign.pk,
        "wants a deposit",
    )
    entry = CallEntry.objects.get()
    assert (entry.state, entry.attempts, entry.last_outcome) == (EntryState.DONE, 1, "interested")
    assert OutboxMessage.objects.get().state == OutboxState.SENT
    assert agent.__class__.objects.get(pk=agent.pk).state == AgentState.READY
    campaign.refresh_from_db()
    assert campaign.cost_actual == Decimal("900.00")
    assert campaign.state == "completed"  # its only customer is done


def test_callback_returns_to_the_same_agent_at_that_time() -> None:
    agent, other = AgentFactory(), AgentFactory()
    campaign = call_campaign(customers=phone_customers(1), agents=[agent])
    other.campaigns.add(campaign)
    _ready(agent)
    _ready(other)
    attempt = _talk(agent)
    with pytest.raises(ValidationFailed) as caught:
        services.attempt_close(actor=agent.user, attempt=attempt, outcome=code(campaign, "call_back"))
    assert list(caught.value.errors) == ["callback_at"]
    at = timezone.now() + dt.timedelta(hours=2)
    services.attempt_close(
        actor=agent.user, attempt=attempt, outcome=code(campaign, "call_back"), callback_at=at
    )
    entry = CallEntry.objects.get()
    assert (entry.state, entry.agent_id, entry.next_call_at) == (EntryState.CALLBACK, agent.pk, at)
    assert services.next_call_take(agent=agent) is None  # not yet
    CallEntry.objects.update(next_call_at=timezone.now() - dt.timedelta(seconds=1))
    assert services.next_call_take(agent=other) is None  # never to another agent
    taken = services.next_call_take(agent=agent)
    assert taken is not None and taken.entry_id == entry.pk


def test_retry_rule_requeues_until_the_attempts_run_out() -> None:
    agent = AgentFactory()
    campaign = call_campaign(customers=phone_customers(1), agents=[agent])
    busy = code(campaign, "busy")  # 3 attempts, 30 minutes apart
    _ready(agent)
    for number in (1, 2, 3):
        attempt = services.next_call_take(agent=agent)
        assert attempt is not None
        attempt = services.attempt_call(attempt=attempt, through_dialer=False)
        before = timezone.now()
        services.attempt_close(actor=agent.user, attempt=attempt, outcome=busy)
        entry = CallEntry.objects.get()
        assert entry.attempts == number
        if number < 3:
            assert entry.state == EntryState.QUEUED
            assert entry.next_call_at is not None
            assert before + dt.timedelta(minutes=30) <= entry.next_call_at
            CallEntry.objects.update(next_call_at=timezone.now())
    assert CallEntry.objects.get().state == EntryState.DONE
    assert OutboxMessage.objects.get().state == OutboxState.FAILED
    assert Interaction.objects.filter(outcome="busy").count() == 3


def test_do_not_call_takes_effect_in_every_campaign_at_once() -> None:
    a, b = AgentFactory(), AgentFactory()
    customers = phone_customers(1)
    one = call_campaign(customers=customers, agents=[a])
    call_campaign(customers=customers, agents=[b])
    _ready(a)
    _ready(b)
    attempt = _talk(a)
    services.attempt_close(actor=a.user, attempt=attempt, outcome=code(one, "do_not_call"))
    refused = set(
        Consent.objects.filter(customer=customers[0], channel="phone").values_list("purpose", "granted")
    )
    assert refused == {("marketing", False), ("surveys", False), ("service", False)}
    # the other campaign's queue no longer offers the customer
    assert services.next_call_take(agent=b) is None


def test_wrong_number_suppresses_the_number() -> None:
    agent = AgentFactory()
    customers = phone_customers(1)
    campaign = call_campaign(customers=customers, agents=[agent])
    _ready(agent)
    attempt = services.next_call_take(agent=agent)
    assert attempt is not None
    services.attempt_close(actor=agent.user, attempt=attempt, outcome=code(campaign, "wrong_number"))
    assert Suppression.objects.filter(channel=CampaignChannel.PHONE, address=customers[0].phone).count() == 1
    assert CallEntry.objects.get().attempts == 1


def test_closing_twice_is_refused() -> None:
    agent = AgentFactory()
    campaign = call_campaign(customers=phone_customers(1), agents=[agent])
    _ready(agent)
    attempt = _talk(agent)
    services.attempt_close(actor=agent.user, attempt=attempt, outcome=code(campaign, "not_interested"))
    with pytest.raises(Conflict):
        services.attempt_close(actor=agent.user, attempt=attempt, outcome=code(campaign, "interested"))
    assert Interaction.objects.count() == 1


def test_a_closed_browser_leaves_the_attempt_recorded_and_the_customer_back_in_the_queue() -> None:
    agent, other = AgentFactory(), AgentFactory()
    campaign = call_campaign(customers=phone_customers(1))
    agent.campaigns.add(campaign)
    other.campaigns.add(campaign)
    _ready(agent)
    attempt = _talk(agent, 100)
    # when the console stops renewing the lease and the lease runs out
    gone = timezone.now() - dt.timedelta(seconds=services.LEASE_SECONDS + 1)
    assert attempt.answered_at is not None
    CallEntry.objects.update(lease_until=attempt.answered_at + dt.timedelta(seconds=60))
    agent.__class__.objects.filter(pk=agent.pk).update(heartbeat_at=gone)
    assert services.stale_release() == 1
    attempt.refresh_from_db()
    assert attempt.state == AttemptState.DONE
    assert (attempt.talk_seconds, attempt.cost) == (60, Decimal("600.00"))
    assert attempt.detail.startswith("lease expired")
    assert attempt.interaction_id is not None
    assert Interaction.objects.get(pk=attempt.interaction_id).duration_seconds == attempt.talk_seconds
    entry = CallEntry.objects.get()
    assert (entry.state, entry.attempts, entry.last_outcome) == (EntryState.QUEUED, 1, "lease_expired")
    assert agent.__class__.objects.get(pk=agent.pk).state == AgentState.OFFLINE
    # and another agent gets the customer
    _ready(other)
    taken = services.next_call_take(agent=other)
    assert taken is not None and taken.entry_id == entry.pk


def test_heartbeat_keeps_the_lease() -> None:
    agent = AgentFactory()
    call_campaign(customers=phone_customers(1), agents=[agent])
    _ready(agent)
    _talk(agent)
    CallEntry.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    services.agent_heartbeat(agent=agent)
    assert services.stale_release() == 0


def test_blocked_customer_found_right_before_the_call() -> None:
    agent = AgentFactory()
    customers = phone_customers(1)
    call_campaign(customers=customers, agents=[agent])
    _ready(agent)
    attempt = services.next_call_take(agent=agent)
    assert attempt is not None
    customers[0].do_not_contact = True
    customers[0].save()
    with pytest.raises(Conflict):
        services.attempt_call(attempt=attempt, through_dialer=False)
    assert CallEntry.objects.get().state == EntryState.DONE
    assert OutboxMessage.objects.get().state == OutboxState.SKIPPED
    assert Interaction.objects.count() == 0


def test_call_window_uses_the_customers_local_time() -> None:
    policy = ContactPolicy.load()
    policy.quiet_channels = ["phone"]
    policy.weekend_days = [4]
    policy.save()
    moscow = RegionFactory(time_zone="Europe/Moscow")
    tehran = phone_customers(1)
    russian = phone_customers(1, region=moscow)
    campaign = call_campaign(customers=tehran + russian)
    # Wednesday 2025-03-05 05:00 UTC: 08:30 in Tehran (open), 08:00 in Moscow (open at 08:00)
    now = dt.datetime(2025, 3, 5, 4, 45, tzinfo=dt.UTC)  # 08:15 Tehran, 07:45 Moscow
    CallEntry.objects.update(next_call_at=now)
    rows = set(services.callable_entries(campaign=campaign, now=now).values_list("customer_id", flat=True))
    assert rows == {tehran[0].pk}
    night = dt.datetime(2025, 3, 5, 19, 0, tzinfo=dt.UTC)  # 22:30 Tehran, 22:00 Moscow
    assert not services.callable_entries(campaign=campaign, now=night).exists()
    friday = dt.datetime(2025, 3, 7, 9, 0, tzinfo=dt.UTC)
    assert not services.callable_entries(campaign=campaign, now=friday).exists()


def test_call_settings_are_checked(make_user: Any) -> None:
    manager = make_user(Role.CAMPAIGN_MANAGER)
    campaign = call_campaign(customers=[])
    with pytest.raises(ValidationFailed) as caught:
        services.call_settings_save(
            actor=manager,
            campaign=campaign,
            values={"mode": "predictive", "trunk": "", "max_abandon_percent": Decimal("25"), "colour": 1},
        )
    assert list(caught.value.errors) == ["colour"]
    with pytest.raises(ValidationFailed) as caught:
        services.call_settings_save(
            actor=manager,
            campaign=campaign,
            values={"mode": "predictive", "max_abandon_percent": Decimal("25")},
        )
    assert sorted(caught.value.errors) == ["max_abandon_percent", "trunk"]
    saved = services.call_settings_save(
        actor=manager, campaign=campaign, values={"mode": "predictive", "trunk": "PJSIP/operator"}
    )
    assert (saved.mode, saved.trunk, saved.max_abandon_percent) == (
        "predictive",
        "PJSIP/operator",
        Decimal("3"),
    )
    with pytest.raises(PermissionDenied):
        services.call_settings_save(actor=UserFactory(role=Role.AGENT), campaign=campaign, values={})


def test_the_stale_calls_task_releases_expired_leases() -> None:
    from navid.telemarketing.tasks import release_stale_calls

    agent = AgentFactory()
    call_campaign(customers=phone_customers(1), agents=[agent])
    _ready(agent)
    assert services.next_call_take(agent=agent) is not None
    assert release_stale_calls() == 0
    CallEntry.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert release_stale_calls() == 1
    assert CallEntry.objects.get().state == EntryState.QUEUED


def test_the_dialer_check_right_before_the_dial_sees_a_withdrawal_made_after_the_take() -> None:
    customers = phone_customers(2)
    campaign = call_campaign(customers=customers)
    taken = services.entries_take(campaign=campaign, count=2)
    assert len(taken) == 2
    services.customer_do_not_call(actor=None, customer=customers[0], source="test")
    first = next(e for e in taken if e.customer_id == customers[0].pk)
    second = next(e for e in taken if e.customer_id == customers[1].pk)
    assert services.dial_check(entry=first, goal=campaign.goal) == "blocked"
    assert services.dial_check(entry=second, goal=campaign.goal) == ""
    services.entry_not_dialled(entry=first, reason="blocked")
    first.refresh_from_db()
    assert (first.state, first.last_outcome) == (EntryState.DONE, "blocked")
    assert OutboxMessage.objects.get(pk=first.outbox_id).state == OutboxState.SKIPPED
