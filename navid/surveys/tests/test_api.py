"""GET /api/v1/surveys/{id}/results: the figures other systems read, permission and not-found."""

from __future__ import annotations

from typing import Any

import pytest

from navid.accounts.roles import Role
from navid.surveys.tests.factories import nps_survey
from navid.surveys.tests.test_views import _answered, _login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_results_api(make_user: Any) -> None:
    survey, q = nps_survey()
    for score in (10, 7, 2, 1):
        _answered(survey, q, score)
    body = _login(make_user(Role.MARKETING_ANALYST)).get(f"/api/v1/surveys/{survey.pk}/results").json()
    assert (body["responses"], body["promoters"], body["passives"], body["detractors"]) == (4, 1, 1, 2)
    assert body["nps"]["score"] == pytest.approx(-25.0)
    assert body["nps"]["ci_low"] < -25.0 < body["nps"]["ci_high"]
    speed = next(p for p in body["parameters"] if p["code"] == "speed")
    assert (speed["average"], speed["answers"]) == (4.0, 4)
    assert _login(make_user(Role.AGENT)).get(f"/api/v1/surveys/{survey.pk}/results").status_code == 403
    assert _login(make_user(Role.MARKETING_ANALYST)).get("/api/v1/surveys/999999/results").status_code == 404
