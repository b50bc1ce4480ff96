"""REST API of surveys: the results other systems read (R8.4)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from navid.core.errors import NotFound, PermissionDenied
from navid.surveys import selectors
from navid.surveys.models import Survey

router = Router(tags=["surveys"])


class ParameterOut(Schema):
    id: int
    code: str
    name: str
    average: float | None
    answers: int


class FollowUpsOut(Schema):
    open: int
    contacted: int
    resolved: int


class NpsOut(Schema):
    score: float | None
    ci_low: float | None
    ci_high: float | None


class ResultsOut(Schema):
    survey: int
    responses: int
    sent: int
    response_rate: float | None
    nps: NpsOut
    promoters: int
    passives: int
    detractors: int
    csat_average: float | None
    parameters: list[ParameterOut]
    detractor_followups: FollowUpsOut


@router.get("/surveys/{survey_id}/results", response=ResultsOut)
def survey_results(
    request: HttpRequest,
    survey_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    channel: str = "",
) -> ResultsOut:
    """NPS with its 95 % interval, the three groups, and the average rating per evaluation parameter."""
    if not request.user.has_perm("surveys.view_survey_results"):
        raise PermissionDenied("surveys.view_survey_results")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(f"survey {survey_id}")
    results = selectors.survey_results(survey=survey, start=start, end=end, channel=channel)
    return ResultsOut(
        survey=survey.pk,
        responses=results.responses,
        sent=results.sent,
        response_rate=results.response_rate,
        nps=NpsOut(score=results.nps.score, ci_low=results.nps.ci_low, ci_high=results.nps.ci_high),
        promoters=results.nps.promoters,
        passives=results.nps.passives,
        detractors=results.nps.detractors,
        csat_average=results.csat_average,
        parameters=[
            ParameterOut(id=p.parameter_id, code=p.code, name=p.name, average=p.average, answers=p.answers)
            for p in results.parameters
        ],
        detractor_followups=FollowUpsOut(**results.followups),
    )
