"""Telemarketing tests call at any hour: the contact policy's quiet hours are switched off for phone calls
unless a test sets them (tests of the call window do)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _calls_any_time(db: None) -> None:
    from navid.campaigns.models import ContactPolicy

    policy = ContactPolicy.load()
    policy.quiet_channels = ["sms"]
    policy.save()


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On PostgreSQL the test database is named after the main one (navid_x -> navid_x_test), not test_navid_x."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_test"
