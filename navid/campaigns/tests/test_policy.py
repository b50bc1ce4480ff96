"""The contact policy: its rules' order, the next open moment in a time zone, and the service that changes it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.accounts.tests.factories import RegionFactory
from navid.campaigns.models import ContactPolicy, Goal
from navid.campaigns.policy import (
    RULE_ORDER,
    allowed_without_consent,
    consent_purpose,
    contact_policy_get,
    contact_policy_update,
    next_allowed_moment,
    region_time_zones,
)
from navid.core.errors import PermissionDenied, ValidationFailed

UTC = dt.UTC
TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Users are made for each test; the real hasher would spend seconds on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def policy(**values: Any) -> ContactPolicy:
    p = ContactPolicy(pk=1)
    for name, value in values.items():
        setattr(p, name, value)
    return p


def test_rules_are_checked_in_the_documented_order() -> None:
    assert RULE_ORDER == (
        "deleted",
        "exclusion_segment",
        "do_not_contact",
        "consent",
        "no_address",
        "suppressed",
        "frequency",
        "min_gap",
        "channel_frequency",
    )


def test_defaults_are_opt_in_for_email_sms_and_calls_and_opt_out_for_letters() -> None:
    defaults = ContactPolicy()
    assert [
        allowed_without_consent(policy=defaults, channel=ch)
        for ch in ("email", "event", "sms", "phone", "mail")
    ] == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert (consent_purpose(goal=Goal.SATISFACTION), consent_purpose(goal=Goal.CROSS_SELL)) == (
        "surveys",
        "marketing",
    )


@pytest.mark.parametrize(
    ("local_start", "expected_local"),
    [
        # Inside the open hours: no wait.
        (dt.datetime(2030, 1, 7, 10, 0), dt.datetime(2030, 1, 7, 10, 0)),
        # Evening of a working day: the next morning.
        (dt.datetime(2030, 1, 7, 21, 0), dt.datetime(2030, 1, 8, 8, 0)),
        # Early morning: the same morning.
        (dt.datetime(2030, 1, 8, 3, 15), dt.datetime(2030, 1, 8, 8, 0)),
        # Thursday night: Friday is the day off, so Saturday morning.
        (dt.datetime(2030, 1, 10, 22, 0), dt.datetime(2030, 1, 12, 8, 0)),
        # Friday noon: Saturday morning.
        (dt.datetime(2030, 1, 11, 12, 0), dt.datetime(2030, 1, 12, 8, 0)),
        # The last open minute.
        (dt.datetime(2030, 1, 7, 20, 59), dt.datetime(2030, 1, 7, 20, 59)),
    ],
)
def test_next_allowed_moment_in_tehran_with_friday_off(
    local_start: dt.datetime, expected_local: dt.datetime
) -> None:
    rules = policy(quiet_start=dt.time(21, 0), quiet_end=dt.time(8, 0), weekend_days=[4])
    after = local_start.replace(tzinfo=TEHRAN).astimezone(UTC)
    moment = next_allowed_moment(after=after, zone=TEHRAN, policy=rules)
    assert moment.tzinfo == UTC
    assert moment == expected_local.replace(tzinfo=TEHRAN).astimezone(UTC)


def test_next_allowed_moment_with_a_saturday_sunday_weekend_in_moscow() -> None:
    rules = policy(quiet_start=dt.time(21, 0), quiet_end=dt.time(9, 0), weekend_days=[5, 6])
    friday_evening = dt.datetime(2030, 1, 11, 19, 0, tzinfo=UTC)  # 22:00 in Moscow
    assert next_allowed_moment(after=friday_evening, zone=MOSCOW, policy=rules) == dt.datetime(
        2030, 1, 14, 6, 0, tzinfo=UTC
    )  # Monday 09:00 Moscow


def test_quiet_hours_within_one_day_and_no_quiet_hours() -> None:
    lunch = policy(quiet_start=dt.time(12, 0), quiet_end=dt.time(14, 0), weekend_days=[])
    at_noon = dt.datetime(2030, 1, 7, 12, 30, tzinfo=TEHRAN)
    assert next_allowed_moment(after=at_noon, zone=TEHRAN, policy=lunch) == dt.datetime(
        2030, 1, 7, 14, 0, tzinfo=TEHRAN
    )
    never = policy(quiet_start=dt.time(8, 0), quiet_end=dt.time(8, 0), weekend_days=[])
    midnight = dt.datetime(2030, 1, 7, 0, 0, tzinfo=TEHRAN)
    assert next_allowed_moment(after=midnight, zone=TEHRAN, policy=never) == midnight


def test_quiet_hours_end_on_the_wall_clock_across_a_clock_change() -> None:
    rules = policy(quiet_start=dt.time(21, 0), quiet_end=dt.time(8, 0), weekend_days=[])
    # Berlin moves from UTC+1 to UTC+2 in the night of 30 to 31 March 2030.
    saturday_night = dt.datetime(2030, 3, 30, 22, 0, tzinfo=BERLIN)
    assert next_allowed_moment(after=saturday_night, zone=BERLIN, policy=rules) == dt.datetime(
        2030, 3, 31, 6, 0, tzinfo=UTC
    )


def test_a_policy_with_every_day_off_has_no_open_moment() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        next_allowed_moment(
            after=dt.datetime(2030, 1, 7, tzinfo=UTC), zone=TEHRAN, policy=policy(weekend_days=list(range(7)))
        )


@pytest.mark.django_db
def test_regions_are_grouped_by_time_zone_and_the_banks_own_zone_is_left_to_the_default(
    settings: Any,
) -> None:
    settings.TIME_ZONE = "Asia/Tehran"
    moscow = RegionFactory(code="moscow", time_zone="Europe/Moscow")
    kazan = RegionFactory(code="kazan", time_zone="Europe/Moscow")
    samara = RegionFactory(code="samara", time_zone="Europe/Samara")
    RegionFactory(code="tehran", time_zone="Asia/Tehran")
    RegionFactory(code="isfahan")
    assert region_time_zones() == {"Europe/Moscow": [moscow.pk, kazan.pk], "Europe/Samara": [samara.pk]}


# --- the service ---


@pytest.mark.django_db
def test_a_segment_manager_changes_the_policy_and_the_change_is_audited(make_user: Any) -> None:
    manager = make_user(Role.SEGMENT_MANAGER)
    assert contact_policy_get().max_contacts == 4  # the defaults before anyone saves

    saved = contact_policy_update(
        actor=manager,
        values={"max_contacts": 6, "weekend_days": [6, 5, 5], "quiet_channels": ["phone", "sms", "email"]},
    )

    assert ContactPolicy.objects.get() == saved
    assert (saved.max_contacts, saved.weekend_days, saved.quiet_channels, saved.updated_by) == (
        6,
        [5, 6],
        ["email", "sms", "phone"],
        manager,
    )
    entry = AuditEntry.objects.get(model="campaigns.contactpolicy")
    assert (entry.actor, entry.action, entry.object_id) == (manager, "update", "1")
    assert entry.changes["max_contacts"] == [4, 6]
    assert entry.changes["weekend_days"] == [[4], [5, 6]]


@pytest.mark.django_db
def test_a_user_without_the_permission_cannot_change_the_policy(make_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        contact_policy_update(actor=make_user(Role.CAMPAIGN_MANAGER), values={"max_contacts": 9})
    assert not ContactPolicy.objects.exists()
    assert not AuditEntry.objects.filter(model="campaigns.contactpolicy").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"weekend_days": list(range(7))}, "weekend_days"),
        ({"weekend_days": [7]}, "weekend_days"),
        ({"quiet_channels": ["fax"]}, "quiet_channels"),
        ({"period_days": 0}, "period_days"),
        ({"min_gap_days": 91}, "min_gap_days"),
        ({"max_contacts": 2, "max_contacts_per_channel": 3}, "max_contacts_per_channel"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_are_refused_at_their_field_and_nothing_is_saved(
    make_user: Any, values: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        contact_policy_update(actor=make_user(Role.SEGMENT_MANAGER), values=values)
    assert list(refused.value.errors) == [field]
    assert not ContactPolicy.objects.exists()
