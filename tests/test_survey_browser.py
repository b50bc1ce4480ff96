"""The public survey page in real Chromium: a phone-sized screen, Persian, JavaScript off, keyboard only."""

from __future__ import annotations

from typing import Any

import pytest

from navid.campaigns.tokens import message_token
from navid.customers.tests.factories import CustomerFactory
from navid.surveys.models import ResponseState, SurveyResponse
from navid.surveys.tests.factories import nps_survey, survey_message
from tests.conftest import browser_test

pytestmark = [*browser_test, pytest.mark.django_db(transaction=True)]


def test_a_detractor_answers_with_the_keyboard_on_a_phone_without_javascript(
    live_server: Any, page: Any
) -> None:
    survey, q = nps_survey()
    message = survey_message(survey=survey, customer=CustomerFactory(language="fa"))
    token = message_token(message_id=message.pk, purpose="survey")
    context = page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 740}, locale="fa-IR"
    )
    phone = context.new_page()
    phone.goto(f"{live_server.url}/s/{token}/")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert phone.locator("legend").first.inner_text().startswith("چقدر احتمال دارد")

    # Sending page 1 empty: the error summary links to each question
    phone.keyboard.press("Tab")
    phone.locator('button[type="submit"]').focus()
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#error-summary")
    assert phone.locator("#error-summary a").count() == 2

    # Keyboard only: focus the NPS scale, arrow keys move within the radio group, Enter sends
    phone.locator(f"#q{q['nps'].pk}-0").focus()
    for _step in range(3):
        phone.keyboard.press(
            "ArrowRight" if phone.locator("html").get_attribute("dir") == "ltr" else "ArrowLeft"
        )
    phone.locator(f"#q{q['speed'].pk}-1").focus()
    phone.keyboard.press("Space")
    phone.locator('button[type="submit"]').focus()
    phone.keyboard.press("Enter")
    phone.wait_for_selector(f"#q{q['wrong'].pk}")  # "what went wrong" is shown to a detractor
    phone.locator(f"#q{q['wrong'].pk}").fill("صف طولانی بود")
    phone.locator(f"label[for='q{q['visit'].pk}-2']").click()
    phone.locator('button[type="submit"]').click()
    phone.wait_for_selector('[role="status"]')
    response = SurveyResponse.objects.get()
    assert response.state == ResponseState.COMPLETED
    assert response.nps_score is not None and response.nps_score <= 6
    context.close()
