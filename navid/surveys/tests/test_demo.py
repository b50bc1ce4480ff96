"""The demo seed: one survey, answers from demo customers, detractors followed up; once only."""

from __future__ import annotations

import pytest

from navid.customers.tests.factories import CustomerFactory
from navid.sales.models import FollowUp
from navid.surveys.demo import surveys_demo_seed
from navid.surveys.models import ResponseState, SurveyResponse

pytestmark = pytest.mark.django_db


def test_demo_seed_answers_for_customers_once() -> None:
    CustomerFactory.create_batch(12)
    report = surveys_demo_seed(responses=10, seed=3)
    assert report is not None and report.responses == 10
    completed = SurveyResponse.objects.filter(state=ResponseState.COMPLETED)
    assert completed.count() == 10
    detractors = completed.filter(nps_score__lte=6).count()
    assert FollowUp.objects.filter(source="survey_detractor").count() == detractors
    assert surveys_demo_seed(responses=10) is None
