"""Follow-up pages: scope, filters, the report, progress from the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.customers.tests.factories import CustomerFactory
from navid.sales.models import FollowUp, FollowUpStatus
from navid.sales.selectors import followup_report
from navid.sales.tests.factories import NOW, FollowUpFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def test_a_relationship_manager_sees_only_the_follow_ups_of_her_portfolio(make_user: Any) -> None:
    manager = make_user(Role.RELATIONSHIP_MANAGER)
    mine = FollowUpFactory(customer=CustomerFactory(relationship_manager=manager), subject="Mine")
    other = FollowUpFactory(subject="Someone else's")
    client = _login(manager)
    page = client.get("/sales/follow-ups/")
    assert page.status_code == 200
    assert [f.pk for f in page.context["page"].object_list] == [mine.pk]
    assert client.get(f"/sales/follow-ups/{other.pk}/").status_code == 404


def test_overdue_filter_and_report(make_user: Any) -> None:
    director = make_user(Role.MARKETING_DIRECTOR)
    late = FollowUpFactory(due_at=NOW - dt.timedelta(days=1), source="survey_detractor")
    FollowUpFactory(due_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC), source="survey_detractor")
    FollowUpFactory(
        status=FollowUpStatus.RESOLVED, resolved_at=NOW, due_at=NOW + dt.timedelta(days=1), source="manual"
    )
    page = _login(director).get("/sales/follow-ups/?overdue=1")
    assert [f.pk for f in page.context["page"].object_list] == [late.pk]
    report = {row.source: row for row in followup_report(user=director)}
    assert (
        report["survey_detractor"].total,
        report["survey_detractor"].open,
        report["survey_detractor"].overdue,
    ) == (
        2,
        2,
        1,
    )
    assert (report["manual"].resolved, report["manual"].resolved_on_time) == (1, 1)


def test_the_director_reads_but_cannot_change(make_user: Any) -> None:
    followup = FollowUpFactory()
    client = _login(make_user(Role.MARKETING_DIRECTOR))
    assert client.get(f"/sales/follow-ups/{followup.pk}/").status_code == 200
    response = client.post(f"/sales/follow-ups/{followup.pk}/progress/", {"status": "contacted"})
    assert response.status_code == 403


def test_an_agent_resolves_a_follow_up_from_its_page(make_user: Any) -> None:
    followup = FollowUpFactory()
    client = _login(make_user(Role.AGENT))
    response = client.post(
        f"/sales/follow-ups/{followup.pk}/progress/", {"status": "resolved", "outcome": "Explained the fee"}
    )
    assert response.status_code == 302
    followup.refresh_from_db()
    assert (followup.status, followup.outcome) == ("resolved", "Explained the fee")
    page = client.get(f"/sales/follow-ups/{followup.pk}/")
    assert "Explained the fee" in page.content.decode()


def test_resolving_without_an_outcome_says_why(make_user: Any) -> None:
    followup = FollowUpFactory()
    client = _login(make_user(Role.AGENT))
    page = client.post(f"/sales/follow-ups/{followup.pk}/progress/", {"status": "resolved"}, follow=True)
    assert "Say how it was resolved." in page.content.decode()
    assert FollowUp.objects.get().status == "open"
