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
