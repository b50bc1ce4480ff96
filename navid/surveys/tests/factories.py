"""Factories for surveys: a survey with one version, questions of each kind, campaign messages that link to it."""

from __future__ import annotations

import importlib
from typing import Any

import factory
from django.utils import timezone

from navid.campaigns.models import CampaignChannel, Goal, OutboxMessage, OutboxState
from navid.campaigns.tests.factories import CampaignFactory
from navid.customers.tests.factories import CustomerFactory
from navid.surveys.models import (
    EvaluationParameter,
    Question,
    QuestionKind,
    Survey,
    SurveyCampaign,
    SurveyVersion,
)


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Branch visit survey {n}")

    @factory.post_generation
    def version(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            SurveyVersion.objects.create(survey=self, number=1)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    version = factory.LazyAttribute(lambda o: SurveyFactory().versions.get())
    position = factory.Sequence(lambda n: n + 1)
    page = 1
    kind = QuestionKind.NPS
    text_en = "How likely are you to recommend us to a friend?"
    text_fa = "چقدر احتمال دارد ما را به دوستان خود توصیه کنید؟"
    required = True


def parameter(code: str) -> EvaluationParameter:
    """An evaluation parameter the migration seeds, made again if a transactional test's flush removed it."""
    seeded = importlib.import_module("navid.surveys.migrations.0002_evaluation_parameters").PARAMETERS
    order, (en, fa, ru) = next((n, row[1:]) for n, row in enumerate(seeded, start=1) if row[0] == code)
    found, _created = EvaluationParameter.objects.get_or_create(
        code=code, defaults={"name_en": en, "name_fa": fa, "name_ru": ru, "sort_order": order}
    )
    return found


def nps_survey() -> tuple[Survey, dict[str, Question]]:
    """Page 1: NPS and a speed rating; page 2: "what went wrong" for NPS <= 6 (optional), and a choice."""
    survey = SurveyFactory(name="After your visit")
    version = survey.versions.get()
    nps = QuestionFactory(version=version, position=1, page=1, kind=QuestionKind.NPS)
    speed = QuestionFactory(
        version=version,
        position=2,
        page=1,
        kind=QuestionKind.RATING,
        parameter=parameter("speed"),
        text_en="How fast were you served?",
        text_fa="سرعت ارائه خدمات",
    )
    wrong = QuestionFactory(
        version=version,
        position=3,
        page=2,
        kind=QuestionKind.TEXT,
        required=False,
        text_en="What went wrong?",
        text_fa="چه چیزی درست پیش نرفت؟",
        condition_question=nps,
        condition_operator="lte",
        condition_value="6",
    )
    visit = QuestionFactory(
        version=version,
        position=4,
        page=2,
        kind=QuestionKind.SINGLE,
        text_en="Why did you visit?",
        choices=[
            {"value": "deposit", "en": "A deposit", "fa": "سپرده", "ru": "Вклад"},
            {"value": "loan", "en": "A loan", "fa": "وام", "ru": "Кредит"},
        ],
    )
    return survey, {"nps": nps, "speed": speed, "wrong": wrong, "visit": visit}


def survey_message(*, survey: Survey, customer: Any = None, sent_at: Any = None) -> OutboxMessage:
    """A sent email of a satisfaction campaign that sends the survey's current version."""
    campaign = CampaignFactory(goal=Goal.SATISFACTION, offer=None, response_window_days=14)
    SurveyCampaign.objects.get_or_create(
        campaign=campaign, defaults={"version": survey.versions.order_by("-number").first()}
    )
    customer = customer or CustomerFactory(language="en", external_id=None)
    return OutboxMessage.objects.create(
        campaign=campaign,
        customer=customer,
        channel=CampaignChannel.EMAIL,
        language=customer.language,
        address="customer@example.com",
        idempotency_key=f"{campaign.pk}:1:{customer.pk}:email",
        state=OutboxState.SENT,
        sent_at=sent_at or timezone.now(),
    )
