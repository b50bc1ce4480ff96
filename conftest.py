"""Fixtures shared by every test: roles exist, and users of each role."""

from __future__ import annotations

from typing import Any

import pytest

from navid.accounts.roles import Role


@pytest.fixture(autouse=True)
def _tmp_var(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(autouse=True)
def _language_reset() -> Any:
    """Each test starts in the default language: a page requested in Persian leaves Persian active in the thread
    (the locale middleware activates a language and nothing deactivates it), which would leak into the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def roles(db: None) -> None:
    from navid.accounts.services import roles_sync

    roles_sync()


@pytest.fixture
def make_user(roles: None) -> Any:
    from navid.accounts.tests.factories import UserFactory

    def make(role: Role | None = None, **kwargs: Any) -> Any:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user(Role.ADMINISTRATOR, is_staff=True)


@pytest.fixture
def analyst(make_user: Any) -> Any:
    return make_user(Role.MARKETING_ANALYST)
