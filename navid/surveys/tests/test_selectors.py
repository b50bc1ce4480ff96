"""Results: the NPS and its interval, per-parameter averages, breakdowns, text answers, export rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from navid.accounts.tests.factories import BranchFactory
from navid.customers.tests.factories import CustomerFactory
from navid.sales.models import FollowUp, FollowUpStatus
from navid.surveys import selectors, services
from navid.surveys.models import SurveyChannel, SurveyResponse
from navid.surveys.tests.factories import nps_survey, parameter


def test_nps_from_counts_with_the_multinomial_interval() -> None:
    # Given 50 promoters, 30 passives and 20 detractors of 100
    nps = selectors.nps_compute(promoters=50, passives=30, detractors=20)
    # then NPS = 30 and the half-width is 1.959964 * 100 * sqrt((0.7 - 0.09) / 100) = 15.3078...
    assert nps.responses == 100
    assert nps.score == pytest.approx(30.0)
    assert nps.ci_low == pytest.approx(30.0 - 15.30786, abs=1e-4)
    assert nps.ci_high == pytest.approx(30.0 + 15.30786, abs=1e-4)


def test_nps_interval_is_clipped_and_empty_without_answers() -> None:
    assert selectors.nps_compute(promoters=3, passives=0, detractors=0).ci_high == 100.0
    assert selectors.nps_compute(promoters=3, passives=0, detractors=0).score == 100.0
    empty = selectors.nps_compute(promoters=0, passives=0, detractors=0)
    assert (empty.responses, empty.score, empty.ci_low, empty.ci_high) == (0, None, None, None)


def _answer(
    survey: Any, questions: dict, nps: int, speed: int, *, customer: Any = None, channel: str = "web"
) -> SurveyResponse:
    response = services.response_start(
        version=survey.versions.get(), channel=channel, language="en", customer=customer
    )
    services.response_page_submit(
        response=response,
        page=1,
        data={f"q{questions['nps'].pk}": [str(nps)], f"q{questions['speed'].pk}": [str(speed)]},
    )
    page2 = {f"q{questions['visit'].pk}": ["loan"]}
    if nps <= 6:
        page2[f"q{questions['wrong'].pk}"] = [f"slow queue {nps}"]
    return services.response_page_submit(response=response, page=2, data=page2)


@pytest.mark.django_db
def test_results_count_groups_parameters_and_followups() -> None:
    survey, q = nps_survey()
    branch = BranchFactory()
    for nps, speed in [(10, 5), (9, 4), (8, 4), (7, 3), (3, 1)]:
        _answer(survey, q, nps, speed, customer=CustomerFactory(branch=branch))
    services.response_start(version=survey.versions.get(), channel="web", language="en")  # started only
    FollowUp.objects.update(status=FollowUpStatus.CONTACTED)

    results = selectors.survey_results(survey=survey)

    assert (results.responses, results.started) == (5, 1)
    assert (results.nps.promoters, results.nps.passives, results.nps.detractors) == (2, 2, 1)
    assert results.nps.score == pytest.approx(20.0)
    rated = next(p for p in results.parameters if p.code == "speed")
    assert (rated.average, rated.answers) == (pytest.approx(3.4), 5)
    assert results.followups == {"open": 0, "contacted": 1, "resolved": 0}
    assert results.sent == 0 and results.response_rate is None


@pytest.mark.django_db
def test_breakdown_by_branch_channel_and_jalali_month() -> None:
    survey, q = nps_survey()
    north, south = BranchFactory(name_en="North"), BranchFactory(name_en="South")
    _answer(survey, q, 10, 5, customer=CustomerFactory(branch=north))
    _answer(survey, q, 2, 1, customer=CustomerFactory(branch=south), channel=SurveyChannel.PHONE)
    # 2025-03-21 is 1 Farvardin 1404; 2025-03-20 is still Esfand 1403.
    first, second = SurveyResponse.objects.order_by("pk")
    SurveyResponse.objects.filter(pk=first.pk).update(
        completed_at=dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC)
    )
    SurveyResponse.objects.filter(pk=second.pk).update(
        completed_at=dt.datetime(2025, 3, 21, 10, tzinfo=dt.UTC)
    )

    by_branch = selectors.survey_breakdown(survey=survey, dimension="branch", language="en")
    assert [(r.label, r.nps.score) for r in by_branch] == [("North", 100.0), ("South", -100.0)]
    speed_id = parameter("speed").pk
    assert {r.label: r.parameters[speed_id] for r in by_branch} == {"North": 5.0, "South": 1.0}

    by_channel = selectors.survey_breakdown(survey=survey, dimension="channel", language="en")
    assert [(r.key, r.nps.responses) for r in by_channel] == [("phone", 1), ("web", 1)]

    fa = selectors.survey_breakdown(survey=survey, dimension="month", language="fa")
    assert [(r.key, r.label) for r in fa] == [("1403-12", "اسفند ۱۴۰۳"), ("1404-01", "فروردین ۱۴۰۴")]
    en = selectors.survey_breakdown(survey=survey, dimension="month", language="en")
    assert [(r.key, r.nps.responses) for r in en] == [("2025-03", 2)]


@pytest.mark.django_db
def test_text_answers_search_and_export_rows() -> None:
    survey, q = nps_survey()
    _answer(survey, q, 2, 1)
    _answer(survey, q, 5, 2)
    _answer(survey, q, 10, 5)
    assert [a.text for a in selectors.text_answers(survey=survey, search="queue 5")] == ["slow queue 5"]
    assert selectors.text_answers(survey=survey).count() == 2
    rows = list(selectors.export_rows(survey=survey))
    assert len(rows) == 4
    assert rows[0][6:] == [
        "NPS",
        "v1.1 How likely are you to recommend us to a friend?",
        "v1.2 How fast were you served?",
        "v1.3 What went wrong?",
        "v1.4 Why did you visit?",
    ]
    assert rows[1][6:] == [2, 2, 1, "slow queue 2", "loan"]
    assert rows[3][6:] == [10, 10, 5, "", "loan"]
