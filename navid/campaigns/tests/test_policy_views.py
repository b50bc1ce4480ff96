"""The contact policy page: who may see and change it, saving, errors shown at their field, languages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.campaigns.models import ContactPolicy
from navid.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

# The project's URL map with the policy page where the project includes it.
urlpatterns = [path("campaigns/policy/", include("navid.campaigns.policy_urls")), *project_urlpatterns]
URL = "/campaigns/policy/"

VALID: dict[str, Any] = {
    "email_without_consent": "on",
    "mail_without_consent": "on",
    "quiet_start": "22:00",
    "quiet_end": "07:30",
    "quiet_channels": ["sms", "phone"],
    "weekend_days": ["5", "6"],
    "max_contacts": "5",
    "max_contacts_per_channel": "",
    "period_days": "14",
    "min_gap_days": "1",
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Users are made for each test; the real hasher would spend seconds on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(user: Any, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_a_segment_manager_sees_the_policy_with_its_defaults(make_user: Any) -> None:
    page = _login(make_user(Role.SEGMENT_MANAGER)).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="policy-form"' in html
    assert 'name="quiet_start" value="21:00"' in html
    assert re.search(r'name="weekend_days" value="4"[^>]*checked', html)
    assert not re.search(r'name="weekend_days" value="5"[^>]*checked', html)
    assert 'type="submit"' in html


def test_saving_changes_the_policy_writes_the_audit_log_and_comes_back(make_user: Any) -> None:
    manager = make_user(Role.SEGMENT_MANAGER)
    client = _login(manager)
    response = client.post(URL, VALID)

    assert response.status_code == 302 and response["Location"] == URL
    policy = ContactPolicy.objects.get()
    assert (policy.email_without_consent, policy.sms_without_consent, policy.mail_without_consent) == (
        True,
        False,
        True,
    )
    assert (str(policy.quiet_start), str(policy.quiet_end), policy.quiet_channels, policy.weekend_days) == (
        "22:00:00",
        "07:30:00",
        ["sms", "phone"],
        [5, 6],
    )
    assert (
        policy.max_contacts,
        policy.max_contacts_per_channel,
        policy.period_days,
        policy.min_gap_days,
    ) == (
        5,
        None,
        14,
        1,
    )
    entry = AuditEntry.objects.get(model="campaigns.contactpolicy")
    assert entry.actor == manager and entry.changes["period_days"] == [30, 14]
    page = client.get(URL)
    assert "The contact policy was saved." in page.content.decode()


def test_errors_are_shown_at_their_field_and_nothing_is_saved(make_user: Any) -> None:
    bad = {**VALID, "weekend_days": [str(d) for d in range(7)], "period_days": "0"}
    page = _login(make_user(Role.SEGMENT_MANAGER)).post(URL, bad)

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-field="period_days"' in html
    assert not ContactPolicy.objects.exists()
    fixed = {**bad, "period_days": "30"}
    page = _login(make_user(Role.SEGMENT_MANAGER)).post(URL, fixed)
    assert page.status_code == 200
    assert 'data-field="weekend_days"' in page.content.decode()
    assert "At least one day of the week must be open for contacts." in page.content.decode()
    assert not ContactPolicy.objects.exists()


def test_a_cap_per_channel_above_the_total_cap_is_shown_at_its_field(make_user: Any) -> None:
    page = _login(make_user(Role.SEGMENT_MANAGER)).post(URL, {**VALID, "max_contacts_per_channel": "9"})
    assert page.status_code == 200
    assert 'data-field="max_contacts_per_channel"' in page.content.decode()


def test_roles_without_the_permission_are_refused_and_anonymous_users_sent_to_log_in(make_user: Any) -> None:
    assert _login(make_user(Role.CAMPAIGN_MANAGER)).get(URL).status_code == 403
    assert _login(make_user(Role.MARKETING_ANALYST)).post(URL, VALID).status_code == 403
    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not ContactPolicy.objects.exists()


def test_an_administrator_may_change_the_policy(admin_user: Any) -> None:
    assert _login(admin_user).post(URL, VALID).status_code == 302
    assert ContactPolicy.objects.get().max_contacts == 5


def test_the_page_is_right_to_left_in_persian(make_user: Any) -> None:
    page = _login(make_user(Role.SEGMENT_MANAGER), language="fa").get(URL)
    assert page.status_code == 200
    assert 'dir="rtl"' in page.content.decode()
