"""The builder's versions and questions, answering page by page, bad answers, and detractor follow-ups."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from navid.campaigns.tests.factories import CampaignFactory
from navid.core.errors import Conflict, ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.loyalty.models import PointsEntry
from navid.loyalty.tests.factories import EarnRuleFactory
from navid.sales.models import FollowUp
from navid.surveys import services
from navid.surveys.models import Answer, Question, ResponseState, SurveyResponse, SurveyVersion
from navid.surveys.tests.factories import nps_survey, parameter

pytestmark = pytest.mark.django_db


def _start(survey: Any, customer: Any = None) -> SurveyResponse:
    return services.response_start(
        version=survey.versions.get(), channel="web", language="en", customer=customer
    )


def test_a_new_survey_has_an_empty_first_version(admin_user: Any) -> None:
    survey = services.survey_create(actor=admin_user, name="  Branch survey ", description="")
    assert survey.name == "Branch survey"
    assert list(survey.versions.values_list("number", flat=True)) == [1]
    with pytest.raises(ValidationFailed) as exc:
        services.survey_create(actor=admin_user, name=" ")
    assert list(exc.value.errors) == ["name"]


def test_question_rules_name_each_field(admin_user: Any) -> None:
    survey, q = nps_survey()
    with pytest.raises(ValidationFailed) as exc:
        services.question_save(
            actor=admin_user,
            survey=survey,
            values={"kind": "rating", "text_en": "", "page": "1", "choices": ""},
        )
    assert set(exc.value.errors) == {"text_en", "parameter"}
    with pytest.raises(ValidationFailed) as exc:
        services.question_save(
            actor=admin_user,
            survey=survey,
            values={"kind": "single", "text_en": "Which?", "page": "1", "choices": "a | A\n"},
        )
    assert exc.value.errors == {"choices": ["Give at least two choices."]}
    with pytest.raises(ValidationFailed) as exc:  # a condition on a question of the same page
        services.question_save(
            actor=admin_user,
            survey=survey,
            values={
                "kind": "text",
                "text_en": "Why?",
                "page": "1",
                "condition_question": str(q["nps"].pk),
                "condition_operator": "lte",
                "condition_value": "6",
            },
        )
    assert exc.value.errors == {
        "condition_question": ["A question can depend only on a question of an earlier page."]
    }
    assert Question.objects.filter(version__survey=survey).count() == 4


def test_editing_a_survey_with_answers_creates_a_new_version(admin_user: Any) -> None:
    # Given a survey answered once
    survey, q = nps_survey()
    response = _start(survey)
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["3"], f"q{q['speed'].pk}": ["2"]}
    )
    # When a question is edited
    edited = services.question_save(
        actor=admin_user,
        survey=survey,
        question=q["speed"],
        values={
            "kind": "rating",
            "text_en": "Were you served quickly?",
            "page": "1",
            "required": True,
            "parameter": str(parameter("speed").pk),
        },
    )
    # Then the edit is in version 2, with copies of every question and the condition pointing at the copy
    v1, v2 = SurveyVersion.objects.filter(survey=survey).order_by("number")
    assert (v2.number, edited.version_id) == (2, v2.pk)
    assert [x.text_en for x in v2.questions.order_by("position")] == [
        "How likely are you to recommend us to a friend?",
        "Were you served quickly?",
        "What went wrong?",
        "Why did you visit?",
    ]
    wrong_v2 = v2.questions.get(position=3)
    assert wrong_v2.condition_question_id == v2.questions.get(position=1).pk
    # and the answers keep version 1 with its text
    assert Question.objects.get(pk=q["speed"].pk).text_en == "How fast were you served?"
    assert SurveyResponse.objects.get(pk=response.pk).version_id == v1.pk
    # A second edit goes to version 2 (no answers yet), no third version
    services.question_move(actor=admin_user, survey=survey, question=wrong_v2, up=False)
    assert SurveyVersion.objects.filter(survey=survey).count() == 2
    assert [x.position for x in v2.questions.order_by("position")] == [1, 2, 3, 4]
    assert v2.questions.get(position=4).text_en == "What went wrong?"


def test_the_condition_shows_what_went_wrong_only_to_a_detractor() -> None:
    survey, q = nps_survey()
    happy, unhappy = _start(survey), _start(survey)
    services.response_page_submit(
        response=happy, page=1, data={f"q{q['nps'].pk}": ["9"], f"q{q['speed'].pk}": ["5"]}
    )
    services.response_page_submit(
        response=unhappy, page=1, data={f"q{q['nps'].pk}": ["6"], f"q{q['speed'].pk}": ["2"]}
    )
    assert [x.pk for x in services.page_questions(response=happy, page=2)] == [q["visit"].pk]
    assert [x.pk for x in services.page_questions(response=unhappy, page=2)] == [q["wrong"].pk, q["visit"].pk]


def test_a_detractor_opens_a_follow_up_for_the_relationship_manager(make_user: Any) -> None:
    manager = make_user()
    customer = CustomerFactory(relationship_manager=manager)
    survey, q = nps_survey()
    survey.detractor_due_days = 5
    survey.save()
    response = _start(survey, customer)
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["4"], f"q{q['speed'].pk}": ["1"]}
    )
    done = services.response_page_submit(
        response=response,
        page=2,
        data={f"q{q['wrong'].pk}": ["Long queue"], f"q{q['visit'].pk}": ["deposit"]},
    )
    assert (done.state, done.nps_score, done.page) == (ResponseState.COMPLETED, 4, 2)
    followup = FollowUp.objects.get()
    assert (followup.source, followup.source_ref, followup.assignee, followup.customer) == (
        "survey_detractor",
        f"survey-response:{response.pk}",
        manager,
        customer,
    )
    assert done.completed_at is not None
    assert followup.due_at == done.completed_at + dt.timedelta(days=5)
    assert followup.details == (
        "How likely are you to recommend us to a friend?: 4\nHow fast were you served?: 1\n"
        "What went wrong?: Long queue\nWhy did you visit?: A deposit"
    )


def test_a_passive_or_anonymous_detractor_opens_no_follow_up() -> None:
    survey, q = nps_survey()
    for score, customer in (("7", CustomerFactory()), ("0", None)):
        response = _start(survey, customer)
        services.response_page_submit(
            response=response, page=1, data={f"q{q['nps'].pk}": [score], f"q{q['speed'].pk}": ["3"]}
        )
        services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["loan"]})
    assert FollowUp.objects.count() == 0


@pytest.mark.parametrize(
    ("nps", "speed", "errors"),
    [
        ("11", "3", {"nps": ["Choose a number from 0 to 10."]}),
        ("-1", "3", {"nps": ["Choose a number from 0 to 10."]}),
        ("five", "3", {"nps": ["Choose a number from 0 to 10."]}),
        ("", "3", {"nps": ["Answer this question."]}),
        ("5", "0", {"speed": ["Choose a number from 1 to 5."]}),
        ("", "", {"nps": ["Answer this question."], "speed": ["Answer this question."]}),
    ],
)
def test_a_bad_page_stores_nothing(nps: str, speed: str, errors: dict) -> None:
    survey, q = nps_survey()
    response = _start(survey)
    with pytest.raises(ValidationFailed) as exc:
        services.response_page_submit(
            response=response, page=1, data={f"q{q['nps'].pk}": [nps], f"q{q['speed'].pk}": [speed]}
        )
    assert exc.value.errors == {f"q{q[name].pk}": reasons for name, reasons in errors.items()}
    assert Answer.objects.count() == 0
    assert SurveyResponse.objects.get(pk=response.pk).page == 1


def test_100_kb_of_text_is_refused_and_nothing_of_the_page_is_kept() -> None:
    survey, q = nps_survey()
    response = _start(survey)
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["2"], f"q{q['speed'].pk}": ["1"]}
    )
    with pytest.raises(ValidationFailed) as exc:
        services.response_page_submit(
            response=response,
            page=2,
            data={f"q{q['wrong'].pk}": ["x" * 100_000], f"q{q['visit'].pk}": ["loan"]},
        )
    assert exc.value.errors == {f"q{q['wrong'].pk}": ["Write at most 2000 characters (you wrote 100000)."]}
    assert Answer.objects.filter(question__page=2).count() == 0
    assert SurveyResponse.objects.get(pk=response.pk).state == ResponseState.IN_PROGRESS


def test_a_choice_not_offered_and_a_page_not_reached_are_refused() -> None:
    survey, q = nps_survey()
    response = _start(survey)
    with pytest.raises(ValidationFailed) as exc:
        services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["loan"]})
    assert exc.value.errors == {"page": ["This page of the survey is not open yet."]}
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["9"], f"q{q['speed'].pk}": ["4"]}
    )
    with pytest.raises(ValidationFailed) as exc:
        services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["mortgage"]})
    assert exc.value.errors == {f"q{q['visit'].pk}": ["Choose one of the answers offered."]}


def test_a_second_submission_is_refused_and_answers_are_not_doubled() -> None:
    survey, q = nps_survey()
    response = _start(survey)
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["9"], f"q{q['speed'].pk}": ["4"]}
    )
    services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["loan"]})
    with pytest.raises(Conflict):
        services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["deposit"]})
    assert Answer.objects.filter(response=response).count() == 3
    assert Answer.objects.get(response=response, question=q["visit"]).choices == ["loan"]


def test_answering_a_page_again_replaces_its_answers() -> None:
    survey, q = nps_survey()
    response = _start(survey)
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["2"], f"q{q['speed'].pk}": ["1"]}
    )
    services.response_page_submit(
        response=response, page=1, data={f"q{q['nps'].pk}": ["8"], f"q{q['speed'].pk}": ["4"]}
    )
    assert sorted(
        n for n in Answer.objects.filter(response=response).values_list("number", flat=True) if n is not None
    ) == [4, 8]


def test_one_response_per_campaign_message() -> None:
    survey, _q = nps_survey()
    first = services.response_start(
        version=survey.versions.get(), channel="email", language="en", message_id=77
    )
    again = services.response_start(
        version=survey.versions.get(), channel="email", language="en", message_id=77
    )
    assert first.pk == again.pk
    assert SurveyResponse.objects.filter(message_id=77).count() == 1


def test_only_a_satisfaction_campaign_sends_a_survey(admin_user: Any) -> None:
    survey, _q = nps_survey()
    with pytest.raises(ValidationFailed) as exc:
        services.survey_campaign_link(actor=admin_user, campaign=CampaignFactory(), survey=survey)
    assert exc.value.errors == {"campaign": ["Only a satisfaction campaign can send a survey."]}
    link = services.survey_campaign_link(
        actor=admin_user, campaign=CampaignFactory(goal="satisfaction", offer=None), survey=survey
    )
    assert link.version.number == 1
    assert services.version_is_frozen(version=link.version)


def test_kiosk_key_is_stored_as_a_digest(admin_user: Any) -> None:
    survey, _q = nps_survey()
    with pytest.raises(ValidationFailed):
        services.survey_kiosk_key_set(actor=admin_user, survey=survey, key="short")
    services.survey_kiosk_key_set(actor=admin_user, survey=survey, key="tablet-key-1")
    assert survey.kiosk_key_digest == services.kiosk_key_digest("tablet-key-1")
    assert "tablet-key-1" not in survey.kiosk_key_digest


def test_a_completed_answer_earns_the_customer_loyalty_points_once() -> None:
    EarnRuleFactory(kind="survey_answered", points=40)
    customer = CustomerFactory()
    survey, q = nps_survey()
    for score, who in (("9", customer), ("8", None)):
        response = _start(survey, who)
        services.response_page_submit(
            response=response, page=1, data={f"q{q['nps'].pk}": [score], f"q{q['speed'].pk}": ["5"]}
        )
        services.response_page_submit(response=response, page=2, data={f"q{q['visit'].pk}": ["loan"]})
    entries = list(PointsEntry.objects.values_list("customer_id", "kind", "points", "source_ref"))
    answered = SurveyResponse.objects.get(customer=customer)
    assert entries == [(customer.pk, "survey_answered", 40, f"survey-response:{answered.pk}")]
