"""The public survey page: campaign links (resume, reuse, forged, expired), bad answers over HTTP, the kiosk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from navid.campaigns.tokens import message_token, public_url
from navid.customers.tests.factories import CustomerFactory
from navid.surveys import services
from navid.surveys.models import Answer, ResponseState, SurveyResponse
from navid.surveys.tests.factories import nps_survey, survey_message

pytestmark = pytest.mark.django_db


def _link(message: Any) -> str:
    return f"/s/{message_token(message_id=message.pk, purpose='survey')}/"


def test_the_campaign_link_points_at_the_survey_page(settings: Any) -> None:
    settings.NAVID_PUBLIC_URL = "https://bank.example"
    assert public_url(message_id=5, purpose="survey") == (
        f"https://bank.example/s/{message_token(message_id=5, purpose='survey')}/"
    )


def test_answer_resume_and_finish_through_the_link() -> None:
    survey, q = nps_survey()
    message = survey_message(survey=survey, customer=CustomerFactory(language="fa"))
    client = Client()
    url = _link(message)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="fa" dir="rtl"' in html  # the customer's language, right to left
    assert "چقدر احتمال دارد ما را به دوستان خود توصیه کنید؟" in html
    assert '<legend class="fs-6 fw-semibold">' in html
    # Page 1 posted, then the customer leaves and comes back later: page 2 is shown
    moved = client.post(url, {"page": "1", "lang": "fa", f"q{q['nps'].pk}": "3", f"q{q['speed'].pk}": "2"})
    assert moved.status_code == 302
    again = Client().get(url + "?lang=en")
    assert "What went wrong?" in again.content.decode()
    assert 'name="page" value="2"' in again.content.decode()
    done = client.post(url, {"page": "2", "lang": "en", f"q{q['visit'].pk}": "loan"})
    assert done.status_code == 200
    assert "Your answers have been received." in done.content.decode()
    response = SurveyResponse.objects.get(message_id=message.pk)
    assert (
        response.state,
        response.nps_score,
        response.channel,
        response.language,
        response.campaign_id,
    ) == (ResponseState.COMPLETED, 3, "email", "en", message.campaign_id)
    # A reused link gets a clear page and stores nothing more
    reused = client.post(url, {"page": "2", "lang": "en", f"q{q['visit'].pk}": "deposit"})
    assert reused.status_code == 409
    assert "You have already answered this survey." in reused.content.decode()
    assert Answer.objects.filter(response=response).count() == 3


def test_a_forged_token_is_not_found() -> None:
    survey, _q = nps_survey()
    message = survey_message(survey=survey)
    token = message_token(message_id=message.pk, purpose="survey")
    forged = Client().get(f"/s/{token[:-2]}xx/?lang=en")
    assert forged.status_code == 404
    assert "The link may be incomplete or changed." in forged.content.decode()
    other_purpose = Client().get(f"/s/{message_token(message_id=message.pk, purpose='rsvp')}/?lang=en")
    assert other_purpose.status_code == 404
    assert SurveyResponse.objects.count() == 0


def test_an_expired_link_is_closed() -> None:
    survey, _q = nps_survey()
    message = survey_message(survey=survey, sent_at=timezone.now() - dt.timedelta(days=15))  # window: 14 days
    page = Client().get(_link(message) + "?lang=en")
    assert page.status_code == 410
    assert "The time to answer this survey has passed." in page.content.decode()
    assert SurveyResponse.objects.count() == 0


def test_bad_answers_get_an_error_summary_linked_to_the_fields() -> None:
    survey, q = nps_survey()
    message = survey_message(survey=survey)
    url = _link(message)
    page = Client().post(url, {"page": "1", "lang": "en", f"q{q['nps'].pk}": "12"})
    assert page.status_code == 422
    html = page.content.decode()
    assert 'id="error-summary"' in html
    assert (
        f'<a href="#q{q["nps"].pk}-field">How likely are you to recommend us to a friend?: '
        "Choose a number from 0 to 10.</a>"
    ) in html
    assert f'<a href="#q{q["speed"].pk}-field">How fast were you served?: Answer this question.</a>' in html
    assert Answer.objects.count() == 0


def test_100_kb_of_text_over_http_is_refused() -> None:
    survey, q = nps_survey()
    message = survey_message(survey=survey)
    url = _link(message)
    client = Client()
    client.post(url, {"page": "1", "lang": "en", f"q{q['nps'].pk}": "1", f"q{q['speed'].pk}": "1"})
    page = client.post(
        url, {"page": "2", "lang": "en", f"q{q['wrong'].pk}": "y" * 100_000, f"q{q['visit'].pk}": "loan"}
    )
    assert page.status_code == 422
    assert "Write at most 2000 characters (you wrote 100000)." in page.content.decode()
    assert Answer.objects.filter(question__page=2).count() == 0


def test_kiosk_needs_the_device_key_then_takes_anonymous_answers(admin_user: Any) -> None:
    survey, q = nps_survey()
    client = Client()
    assert client.get(f"/s/kiosk/{survey.pk}/?lang=en").status_code == 404  # no key set: not offered
    services.survey_kiosk_key_set(actor=admin_user, survey=survey, key="branch-12-tablet")
    assert client.get(f"/s/kiosk/{survey.pk}/?lang=en").status_code == 403
    wrong = client.post(f"/s/kiosk/{survey.pk}/?lang=en", {"device_key": "guess-guess"})
    assert "The device key is not right." in wrong.content.decode()
    assert (
        client.post(f"/s/kiosk/{survey.pk}/?lang=en", {"device_key": "branch-12-tablet"}).status_code == 302
    )
    assert client.get(f"/s/kiosk/{survey.pk}/?lang=en").status_code == 200
    unknown = client.post(f"/s/kiosk/{survey.pk}/?lang=en", {"customer_number": "NOPE-1"})
    assert unknown.status_code == 422
    started = client.post(f"/s/kiosk/{survey.pk}/?lang=en", {"customer_number": ""})
    assert started.status_code == 302
    url = started["Location"].split("?")[0]
    client.post(url, {"page": "1", "lang": "en", f"q{q['nps'].pk}": "10", f"q{q['speed'].pk}": "5"})
    done = client.post(url, {"page": "2", "lang": "en", f"q{q['visit'].pk}": "deposit"})
    assert "Next customer" in done.content.decode()
    response = SurveyResponse.objects.get()
    assert (response.channel, response.customer_id, response.state) == (
        "kiosk",
        None,
        ResponseState.COMPLETED,
    )
    # Another device without the cookie cannot use the response's address
    assert Client().get(url).status_code == 404
