"""Staff pages of surveys: the builder, preview, results, export, text answers, the phone survey; the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.customers.tests.factories import CustomerFactory
from navid.surveys import services
from navid.surveys.models import Question, ResponseState, SurveyResponse, SurveyVersion
from navid.surveys.tests.factories import nps_survey, parameter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def _answered(survey: Any, q: dict, nps: int, customer: Any = None) -> SurveyResponse:
    response = services.response_start(
        version=survey.versions.get(), channel="web", language="en", customer=customer
    )
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": [str(nps)], f"q{q['speed'].pk}": ["4"]}
    )
    return services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["loan"]})


def test_a_campaign_manager_builds_a_survey(make_user: Any) -> None:
    client = _login(make_user(Role.CAMPAIGN_MANAGER))
    created = client.post("/surveys/", {"name": "After the call", "description": ""})
    assert created.status_code == 302
    url = created["Location"]
    added = client.post(
        url,
        {
            "action": "question",
            "kind": "rating",
            "page": "1",
            "required": "on",
            "text_en": "Speed?",
            "text_fa": "سرعت؟",
            "parameter": str(parameter("speed").pk),
        },
    )
    assert added.status_code == 302
    bad = client.post(url, {"action": "question", "kind": "nps", "page": "1", "text_en": ""})
    assert bad.status_code == 422
    assert "text_en: This field is required." in bad.content.decode()
    question = Question.objects.get()
    assert (question.kind, question.text_fa, question.parameter.code, question.required) == (
        "rating",
        "سرعت؟",
        "speed",
        True,
    )
    preview = client.get(f"{url}preview/?lang=fa")
    assert 'dir="rtl"' in preview.content.decode() and "سرعت؟" in preview.content.decode()


def test_nav_shows_surveys_by_permission(make_user: Any) -> None:
    assert "/surveys/" in _login(make_user(Role.MARKETING_ANALYST)).get("/surveys/").content.decode()
    assert _login(make_user(Role.CHANNEL_MANAGER)).get("/surveys/").status_code == 403


def test_editing_an_answered_question_from_the_page_makes_version_2(make_user: Any) -> None:
    survey, q = nps_survey()
    _answered(survey, q, 9)
    client = _login(make_user(Role.CAMPAIGN_MANAGER))
    page = client.get(f"/surveys/{survey.pk}/questions/{q['visit'].pk}/")
    assert "saving creates a new version" in page.content.decode()
    saved = client.post(
        f"/surveys/{survey.pk}/questions/{q['visit'].pk}/",
        {
            "kind": "single",
            "page": "2",
            "required": "on",
            "text_en": "Why did you come?",
            "choices": "deposit | A deposit\nloan | A loan\ncard | A card",
        },
    )
    assert saved.status_code == 302
    v2 = SurveyVersion.objects.get(survey=survey, number=2)
    assert v2.questions.get(position=4).choices[2] == {"value": "card", "en": "A card", "fa": "", "ru": ""}
    assert Question.objects.get(pk=q["visit"].pk).text_en == "Why did you visit?"


def test_results_page_export_and_text_answers(make_user: Any) -> None:
    survey, q = nps_survey()
    for score in (10, 9, 5):
        _answered(survey, q, score, customer=CustomerFactory())
    client = _login(make_user(Role.MARKETING_DIRECTOR))
    page = client.get(f"/surveys/{survey.pk}/results/?by=channel")
    assert page.status_code == 200
    results = page.context["results"]
    assert (results.responses, results.nps.score, results.followups["open"]) == (3, pytest.approx(100 / 3), 1)
    assert 'id="survey-chart-data"' in page.content.decode()
    csv = client.get(f"/surveys/{survey.pk}/results.csv")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.content.decode("utf-8-sig").count("\n") == 4
    xlsx = client.get(f"/surveys/{survey.pk}/results.xlsx")
    assert xlsx.content[:2] == b"PK"
    assert client.get(f"/surveys/{survey.pk}/results.pdf").status_code == 404
    assert client.get(f"/surveys/{survey.pk}/answers/?q=queue").status_code == 200
    bad_date = client.get(f"/surveys/{survey.pk}/results/?start=not-a-date")
    assert "start: not a date: not-a-date" in bad_date.content.decode()


def test_an_agent_fills_a_survey_on_the_phone(make_user: Any) -> None:
    survey, q = nps_survey()
    agent = make_user(Role.AGENT)
    customer = CustomerFactory(language="en")
    client = _login(agent)
    assert f'href="/surveys/phone/customer/{customer.pk}/" id="survey-by-phone"' in (
        client.get(f"/customers/{customer.pk}/").content.decode()
    )
    started = client.post(f"/surveys/phone/customer/{customer.pk}/", {"survey": str(survey.pk)})
    assert started.status_code == 302
    url = started["Location"]
    client.post(url, {"page": "1", "lang": "en", f"q{q['nps'].pk}": "8", f"q{q['speed'].pk}": "3"})
    done = client.post(url, {"page": "2", "lang": "en", f"q{q['visit'].pk}": "deposit"})
    assert done.status_code == 302 and done["Location"] == f"/customers/{customer.pk}/"
    response = SurveyResponse.objects.get()
    assert (response.channel, response.entered_by, response.state, response.nps_score) == (
        "phone",
        agent,
        ResponseState.COMPLETED,
        8,
    )
