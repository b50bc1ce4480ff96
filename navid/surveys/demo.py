"""Demo data of surveys: one NPS survey with a rating per evaluation parameter, and a few hundred answers.

Answers go through the same services as the public page (so detractors open follow-ups), then their completion
times are spread over the last six months so the charts by month show.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from navid.customers.models import Customer
from navid.surveys import services
from navid.surveys.models import (
    Answer,
    EvaluationParameter,
    QuestionKind,
    Survey,
    SurveyChannel,
    SurveyResponse,
)

DEMO_NAME = "Branch visit satisfaction"
DEMO_KIOSK_KEY = "demo-tablet-key"


@dataclass(frozen=True)
class SurveysDemoReport:
    survey_id: int
    responses: int
    seconds: float


def _question(survey: Survey, **values: object) -> None:
    services.question_save(actor=None, survey=survey, values={"required": True, "page": 1, **values})


def surveys_demo_seed(*, responses: int = 300, seed: int = 7) -> SurveysDemoReport | None:
    """The demo survey and `responses` answers from demo customers (once: None when it exists already)."""
    if Survey.objects.filter(name=DEMO_NAME).exists():
        return None
    started = time.perf_counter()
    rng = random.Random(seed)
    with transaction.atomic():
        survey = services.survey_create(actor=None, name=DEMO_NAME, description="After a visit to a branch.")
        _question(
            survey,
            kind=QuestionKind.NPS,
            text_en="How likely are you to recommend our bank to a friend or colleague?",
            text_fa="چقدر احتمال دارد بانک ما را به دوست یا همکار خود توصیه کنید؟",
            text_ru="Насколько вероятно, что вы порекомендуете наш банк другу или коллеге?",
        )
        _question(
            survey,
            kind=QuestionKind.CSAT,
            text_en="Overall, how satisfied are you with your visit?",
            text_fa="در مجموع چقدر از مراجعه خود راضی هستید؟",
            text_ru="Насколько вы довольны визитом в целом?",
        )
        parameters = list(EvaluationParameter.objects.filter(is_active=True).order_by("sort_order")[:5])
        for parameter in parameters:
            _question(
                survey,
                kind=QuestionKind.RATING,
                page=2,
                parameter=str(parameter.pk),
                text_en=f"Rate: {parameter.name_en}",
                text_fa=f"امتیاز شما به {parameter.name_fa or parameter.name_en}",
                text_ru=f"Оцените: {parameter.name_ru or parameter.name_en}",
            )
        nps_question = survey.versions.get().questions.get(kind=QuestionKind.NPS)
        _question(
            survey,
            kind=QuestionKind.TEXT,
            page=3,
            required=False,
            text_en="What went wrong?",
            text_fa="چه چیزی درست پیش نرفت؟",
            text_ru="Что пошло не так?",
            condition_question=str(nps_question.pk),
            condition_operator="lte",
            condition_value="6",
        )
        services.survey_kiosk_key_set(actor=None, survey=survey, key=DEMO_KIOSK_KEY)
    version = survey.versions.get()
    questions = list(version.questions.order_by("position"))
    customers = list(Customer.live.order_by("?").values_list("pk", flat=True)[:responses])
    complaints = ["صف طولانی بود", "کارمزدها روشن نبود", "The app logged me out twice", "Долго ждал"]
    now = timezone.now()
    made = 0
    for customer_id in customers:
        customer = Customer.objects.get(pk=customer_id)
        mood = rng.random()
        nps = (
            rng.choice([9, 10, 10])
            if mood > 0.55
            else rng.choice([7, 8])
            if mood > 0.25
            else rng.randint(0, 6)
        )
        channel = rng.choice(
            [
                SurveyChannel.EMAIL,
                SurveyChannel.SMS,
                SurveyChannel.SMS,
                SurveyChannel.KIOSK,
                SurveyChannel.PHONE,
            ]
        )
        response = services.response_start(
            version=version, channel=channel, language=customer.language, customer=customer
        )
        rating = max(1, min(5, round(1 + nps * 0.4 + rng.uniform(-1, 1))))
        for page in (1, 2, 3):
            data: dict[str, list[str]] = {}
            for question in questions:
                if question.page != page:
                    continue
                if question.kind == QuestionKind.NPS:
                    data[f"q{question.pk}"] = [str(nps)]
                elif question.kind == QuestionKind.TEXT:
                    data[f"q{question.pk}"] = [rng.choice(complaints)]
                else:
                    data[f"q{question.pk}"] = [str(max(1, min(5, rating + rng.randint(-1, 1))))]
            response.refresh_from_db()
            if response.state != "completed" and response.page == page:
                services.response_page_submit(response=response, page=page, data=data)
        completed = now - dt.timedelta(days=rng.uniform(0, 180))
        SurveyResponse.objects.filter(pk=response.pk).update(started_at=completed, completed_at=completed)
        Answer.objects.filter(response=response).update(completed_at=completed)
        made += 1
    return SurveysDemoReport(survey_id=survey.pk, responses=made, seconds=time.perf_counter() - started)
