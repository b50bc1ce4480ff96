"""Campaign reads: who sees what, the month calendar in both calendars, progress, the actions a user may take."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from navid.accounts.roles import Role
from navid.campaigns import selectors, services
from navid.campaigns.models import OutboxMessage, OutboxState, State
from navid.campaigns.tests.factories import CampaignFactory
from navid.campaigns.tests.plan_helpers import fast_passwords, plan, segment
from navid.customers.tests.factories import CustomerFactory
from navid.offers.tests.factories import OfferFactory

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]


def _at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day))


def test_campaigns_visible_needs_the_view_permission_and_filters(make_user: Any) -> None:
    analyst, agent = make_user(Role.MARKETING_ANALYST), make_user(Role.AGENT)
    draft = CampaignFactory(name="Deposit spring")
    running = CampaignFactory(name="Cards", state=State.RUNNING)

    assert set(selectors.campaigns_visible(user=analyst)) == {draft, running}
    assert list(selectors.campaigns_visible(user=analyst, state="running")) == [running]
    assert list(selectors.campaigns_visible(user=analyst, query=" deposit ")) == [draft]
    assert list(selectors.campaigns_visible(user=agent)) == []
    assert selectors.campaign_states_counted(user=analyst)["running"] == 1


def test_the_gregorian_calendar_spreads_campaigns_over_their_days(make_user: Any) -> None:
    analyst = make_user(Role.MARKETING_ANALYST)
    across = CampaignFactory(starts_at=_at("2027-01-25 09:00"), ends_at=_at("2027-02-03 18:00"))
    one_day = CampaignFactory(starts_at=_at("2027-02-14 10:00"), ends_at=None)
    CampaignFactory(starts_at=_at("2027-03-01 10:00"), ends_at=_at("2027-03-05 10:00"))

    month = selectors.campaigns_calendar(user=analyst, year=2027, month=2, jalali=False)

    assert month.campaigns == [across, one_day]
    days = {cell.date.day: cell.campaigns for week in month.weeks for cell in week if cell}
    assert len(days) == 28
    assert [d for d, cs in days.items() if across in cs] == [1, 2, 3]
    assert [d for d, cs in days.items() if one_day in cs] == [14]
    # 1 February 2027 is a Monday, so no padding before it; 28 days fill exactly 4 weeks.
    assert len(month.weeks) == 4 and month.weeks[0][0] is not None
    assert (month.previous, month.following) == ((2027, 1), (2027, 3))
    assert month.title == "February 2027"


def test_the_jalali_calendar_has_the_leap_esfand_and_weeks_from_saturday(make_user: Any) -> None:
    analyst = make_user(Role.MARKETING_ANALYST)
    # Esfand 1403 has 30 days (a leap year): 19 February to 20 March 2025.
    campaign = CampaignFactory(starts_at=_at("2025-03-20 12:00"), ends_at=_at("2025-03-25 12:00"))

    month = selectors.campaigns_calendar(user=analyst, year=1403, month=12, jalali=True)

    cells = [cell for week in month.weeks for cell in week if cell]
    assert len(cells) == 30
    assert (cells[0].date, cells[-1].date) == (dt.date(2025, 2, 19), dt.date(2025, 3, 20))
    assert cells[-1].label == "۳۰"
    assert cells[-1].campaigns == [campaign]
    # 1 Esfand 1403 (19 February 2025) is a Wednesday: four empty cells from Saturday.
    assert month.weeks[0][:4] == [None, None, None, None]
    assert month.title == "اسفند ۱۴۰۳"
    assert (month.previous, month.following) == ((1403, 11), (1404, 1))


def test_outbox_progress_counts_by_state(db: None) -> None:
    campaign = CampaignFactory()
    states = [OutboxState.SENT, OutboxState.DELIVERED, OutboxState.BOUNCED, OutboxState.CANCELLED]
    states += [OutboxState.PENDING, OutboxState.CLAIMED]
    for n, state in enumerate(states):
        customer = CustomerFactory()
        OutboxMessage.objects.create(
            campaign=campaign,
            customer=customer,
            channel="sms",
            language="fa",
            address=str(n),
            idempotency_key=f"{campaign.pk}:1:{customer.pk}:sms",
            state=state,
        )

    assert selectors.campaign_outbox_progress(campaign_id=campaign.pk) == {
        "total": 6,
        "pending": 1,
        "claimed": 1,
        "sent": 2,
        "delivered": 1,
        "failed": 1,
        "skipped": 1,
        "finished": 4,
        "percent": 66,
    }
    assert selectors.campaign_outbox_progress(campaign_id=campaign.pk + 1)["percent"] == 0


def test_the_saved_plan_reads_back_as_the_plan_that_was_given(make_user: Any) -> None:
    maker = make_user(Role.CAMPAIGN_MANAGER)
    given = plan(owner=maker, target=segment(), offer=OfferFactory())
    campaign = services.campaign_create(actor=maker, plan=given)

    read = selectors.campaign_plan(campaign=campaign)

    assert read.channels == list(given.channels)
    assert sorted(read.templates, key=lambda t: (t.channel, t.language)) == sorted(
        given.templates, key=lambda t: (t.channel, t.language)
    )
    assert (read.starts_at, read.control_seed, read.budget_planned) == (
        given.starts_at,
        given.control_seed,
        given.budget_planned,
    )


def test_actions_follow_the_role_the_state_and_the_maker(make_user: Any) -> None:
    maker, director = make_user(Role.CAMPAIGN_MANAGER), make_user(Role.MARKETING_DIRECTOR)
    analyst = make_user(Role.MARKETING_ANALYST)
    campaign = CampaignFactory(owner=maker, state=State.SUBMITTED, submitted_by=maker)

    def names(user: Any) -> list[str]:
        return [a.name for a in selectors.campaign_actions(campaign=campaign, user=user)]

    assert names(maker) == []
    assert names(director) == ["approve", "reject"]
    assert names(analyst) == []
    campaign.state = State.RUNNING
    assert names(maker) == ["pause", "stop"]
    assert names(director) == ["pause", "stop"]
