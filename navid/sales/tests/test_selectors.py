"""The funnel, managers' KPIs and conversions over time: exact figures from known leads, within the user's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory
from navid.campaigns.tests.factories import CampaignFactory
from navid.customers.models import ConversionEvent
from navid.customers.tests.factories import CustomerFactory
from navid.sales import selectors
from navid.sales.models import LeadStageSpan
from navid.sales.tests.factories import NOW, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Labels are asserted in English, whatever language an earlier test's request left active."""
    with translation.override("en"):
        yield


DAY = dt.timedelta(days=1)


def _lead_through(stages: list[tuple[str, int]], **kwargs: Any) -> Any:
    """A lead that spent the given days in each stage, in order; the last stage is where it is now."""
    lead = LeadFactory(stage=stages[-1][0], **kwargs)
    at = NOW
    for n, (stage, days) in enumerate(stages):
        last = n == len(stages) - 1
        left = None if last and stage not in ("won", "lost") else at + days * DAY
        LeadStageSpan.objects.create(
            lead=lead,
            stage=stage,
            entered_at=at,
            left_at=left,
            seconds=None if left is None else int((left - at).total_seconds()),
        )
        at = at + days * DAY
    return lead


def test_funnel_counts_conversion_and_average_days(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    _lead_through([("new", 1), ("contacted", 2), ("meeting", 3), ("proposal", 4), ("won", 0)])
    _lead_through([("new", 3), ("contacted", 4), ("lost", 0)])
    _lead_through([("new", 0)])
    _lead_through([("new", 2), ("contacted", 0)])
    funnel = {row.stage: row for row in selectors.sales_funnel(user=director)}
    assert [(r.stage, r.reached, r.now_in_stage) for r in funnel.values()] == [
        ("new", 4, 1),
        ("contacted", 3, 1),
        ("meeting", 1, 0),
        ("proposal", 1, 0),
        ("won", 1, 1),
        ("lost", 1, 1),
    ]
    assert funnel["new"].conversion == 3 / 4
    assert funnel["contacted"].conversion == 1 / 3
    assert funnel["proposal"].conversion == 1.0
    assert funnel["won"].conversion is None
    assert funnel["new"].average_days == 2.0  # (1 + 3 + 2) / 3; the lead still new is not counted
    assert funnel["contacted"].average_days == 3.0  # (2 + 4) / 2
    assert funnel["won"].average_days is None


def test_manager_kpis(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    ana = make_user(Role.RELATIONSHIP_MANAGER, first_name="Ana", last_name="Karimi")
    bob = make_user(Role.RELATIONSHIP_MANAGER, first_name="Bob", last_name="Moradi")
    LeadFactory(assignee=ana, stage="won", value=Decimal("1000"), response_seconds=3600)
    LeadFactory(assignee=ana, stage="won", value=Decimal("500"), response_seconds=7200)
    LeadFactory(assignee=ana, stage="lost", value=Decimal("900"))
    LeadFactory(assignee=ana, stage="contacted", due_at=NOW - DAY)
    LeadFactory(assignee=bob, stage="new", due_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC))
    kpis = selectors.manager_kpis(user=director)
    assert [(k.name, k.handled, k.open, k.overdue, k.won, k.lost, k.revenue) for k in kpis] == [
        ("Ana Karimi", 4, 1, 1, 2, 1, Decimal("1500.00")),
        ("Bob Moradi", 1, 1, 0, 0, 0, Decimal("0.00")),
    ]
    assert kpis[0].conversion == 2 / 3
    assert kpis[0].response_hours == 1.5
    assert (kpis[1].conversion, kpis[1].response_hours) == (None, None)


def test_a_manager_sees_own_leads_and_a_branch_officer_the_branch(make_user: Any) -> None:
    branch = BranchFactory()
    ana = make_user(Role.RELATIONSHIP_MANAGER)
    officer = make_user(Role.BRANCH_OFFICER, branch=branch)
    LeadFactory(assignee=ana, stage="won", value=Decimal("10"))
    LeadFactory(customer=CustomerFactory(branch=branch), stage="new")
    LeadFactory(stage="lost")
    assert [(k.user_id, k.handled) for k in selectors.manager_kpis(user=ana)] == [(ana.pk, 1)]
    assert [(k.user_id, k.handled) for k in selectors.manager_kpis(user=officer)] == [(None, 1)]
    assert sum(r.reached for r in selectors.sales_funnel(user=ana)) == 0  # no spans on factory leads
    assert [r.now_in_stage for r in selectors.sales_funnel(user=ana) if r.stage == "won"] == [1]


def _convert(customer: Any, when: dt.datetime, source: str = "application") -> None:
    ConversionEvent.objects.create(customer=customer, occurred_at=when, source=source)


def test_conversions_by_month_gregorian_and_jalali(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    # 2025-03-10 is 1403/12/20; 2025-03-25 is 1404/01/05; 2025-04-02 is 1404/01/13 (Asia/Tehran).
    _convert(CustomerFactory(), dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC))
    _convert(CustomerFactory(), dt.datetime(2025, 3, 25, 12, tzinfo=dt.UTC))
    _convert(CustomerFactory(), dt.datetime(2025, 4, 2, 12, tzinfo=dt.UTC), source="import")
    english = selectors.conversions_over_time(user=director, dimension="source", language="en")
    assert english.months == ["2025-03", "2025-04"]
    assert english.series == {"Import": [0, 1], "Product application": [2, 0]}
    persian = selectors.conversions_over_time(user=director, dimension="source", language="fa")
    assert persian.months == ["۱۴۰۳/۱۲", "۱۴۰۴/۰۱"]
    assert persian.series == {"Import": [0, 1], "Product application": [1, 1]}  # 10 March is in Esfand


def test_conversions_by_campaign_branch_and_manager(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    ana = make_user(Role.RELATIONSHIP_MANAGER, first_name="Ana", last_name="Karimi")
    branch = BranchFactory(name_en="Central")
    campaign = CampaignFactory(name="Spring loans")
    customer = CustomerFactory(branch=branch, relationship_manager=ana)
    lead = LeadFactory(customer=customer, campaign=campaign)
    type(lead).objects.filter(pk=lead.pk).update(created_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    _convert(customer, dt.datetime(2025, 3, 5, 12, tzinfo=dt.UTC))
    _convert(CustomerFactory(), dt.datetime(2025, 3, 6, 12, tzinfo=dt.UTC))
    by_campaign = selectors.conversions_over_time(user=director, dimension="campaign")
    assert by_campaign.totals == {"Spring loans": 1, "None": 1}
    assert selectors.conversions_over_time(user=director, dimension="branch").totals == {
        "Central": 1,
        "None": 1,
    }
    assert selectors.conversions_over_time(user=director, dimension="manager").totals == {
        "Ana Karimi": 1,
        "None": 1,
    }


def test_export_rows_csv_and_xlsx(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    LeadFactory(
        assignee=make_user(Role.RELATIONSHIP_MANAGER, username="ana"), stage="won", value=Decimal("5")
    )
    rows = selectors.dashboard_rows(
        funnel=selectors.sales_funnel(user=director),
        kpis=selectors.manager_kpis(user=director),
        conversions=selectors.conversions_over_time(user=director),
    )
    assert ["ana", 1, 0, 0, 1, 0, "100.0%", "", Decimal("5.00")] in rows
    text = selectors.dashboard_csv(rows)
    assert text.startswith("\ufeffSales funnel\r\n")
    assert "ana,1,0,0,1,0,100.0%,,5.00" in text
    assert selectors.dashboard_xlsx(rows)[:2] == b"PK"
