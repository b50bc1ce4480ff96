"""Reads of surveys: the results (NPS with its interval, ratings per evaluation parameter, response rate),
breakdowns by segment, branch, region, channel and month, text answers, and the rows of an export.

Every figure is one aggregate query (GROUP BY) over the flat `SurveyResponse` and `Answer` tables.

The NPS interval: with n answers to the NPS question, of which P promoters and D detractors, p = P/n and d = D/n
are two proportions of one multinomial sample, so NPS = 100 (p - d) and
Var(p - d) = (p + d - (p - d)^2) / n. The 95 % interval is NPS +- 1.96 * 100 * sqrt(Var), clipped to [-100, 100]
(the normal approximation; docs/surveys.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import jdatetime
from django.db.models import Avg, CharField, Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import Branch, Region
from navid.campaigns.models import OutboxMessage, OutboxState
from navid.core.text import to_persian_digits
from navid.sales.models import FollowUp, FollowUpSource, FollowUpStatus
from navid.segments.models import Segment
from navid.surveys.models import (
    Answer,
    EvaluationParameter,
    Question,
    QuestionKind,
    ResponseState,
    Survey,
    SurveyCampaign,
    SurveyChannel,
    SurveyResponse,
)

CONFIDENCE = 0.95
DIMENSIONS = ("month", "channel", "branch", "region", "segment")
_SENT = (OutboxState.SENT, OutboxState.DELIVERED)


@dataclass(frozen=True)
class Nps:
    responses: int
    promoters: int
    passives: int
    detractors: int
    score: float | None
    ci_low: float | None
    ci_high: float | None


def nps_compute(*, promoters: int, passives: int, detractors: int, confidence: float = CONFIDENCE) -> Nps:
    """NPS from the three counts, with the normal interval of a difference of two multinomial proportions."""
    n = promoters + passives + detractors
    if n == 0:
        return Nps(0, 0, 0, 0, None, None, None)
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = 100 * z * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return Nps(n, promoters, passives, detractors, score, max(-100.0, score - half), min(100.0, score + half))


@dataclass(frozen=True)
class ParameterResult:
    parameter_id: int
    code: str
    name: str
    average: float | None
    answers: int


@dataclass
class SurveyResults:
    responses: int
    started: int
    sent: int
    response_rate: float | None
    nps: Nps
    csat_average: float | None
    parameters: list[ParameterResult]
    followups: dict[str, int] = field(default_factory=dict)


def completed_responses(
    *, survey: Survey, start: dt.date | None = None, end: dt.date | None = None, channel: str = ""
) -> QuerySet[SurveyResponse]:
    qs = SurveyResponse.objects.filter(survey=survey, state=ResponseState.COMPLETED)
    if start:
        qs = qs.filter(completed_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC))
    if end:
        qs = qs.filter(
            completed_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        )
    if channel:
        qs = qs.filter(channel=channel)
    return qs


def completed_answers(
    *, survey: Survey, start: dt.date | None = None, end: dt.date | None = None, channel: str = ""
) -> QuerySet[Answer]:
    """Answers of completed responses (their own copy of the completion time: no join unless by channel)."""
    qs = Answer.objects.filter(survey=survey, completed_at__isnull=False)
    if start:
        qs = qs.filter(completed_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC))
    if end:
        qs = qs.filter(
            completed_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        )
    if channel:
        qs = qs.filter(response__channel=channel)
    return qs


def _nps_counts(qs: QuerySet[SurveyResponse]) -> dict[str, int]:
    return qs.aggregate(
        responses=Count("pk"),
        promoters=Count("pk", filter=Q(nps_score__gte=9)),
        passives=Count("pk", filter=Q(nps_score__gte=7, nps_score__lte=8)),
        detractors=Count("pk", filter=Q(nps_score__lte=6)),
    )


def survey_results(
    *, survey: Survey, start: dt.date | None = None, end: dt.date | None = None, channel: str = ""
) -> SurveyResults:
    """The survey's headline figures for completed responses in the period (dates of completion, UTC)."""
    qs = completed_responses(survey=survey, start=start, end=end, channel=channel)
    counts = _nps_counts(qs)
    nps = nps_compute(
        promoters=counts["promoters"], passives=counts["passives"], detractors=counts["detractors"]
    )
    base = completed_answers(survey=survey, start=start, end=end, channel=channel)
    per_parameter = {
        row["parameter"]: row
        for row in base.filter(parameter__isnull=False)
        .values("parameter")
        .annotate(average=Avg("number"), answers=Count("pk"))
        .order_by()
    }
    parameters = [
        ParameterResult(
            p.pk,
            p.code,
            p.display_name(),
            float(per_parameter[p.pk]["average"]) if p.pk in per_parameter else None,
            per_parameter[p.pk]["answers"] if p.pk in per_parameter else 0,
        )
        for p in EvaluationParameter.objects.filter(Q(is_active=True) | Q(pk__in=list(per_parameter)))
    ]
    csat = base.filter(question__kind=QuestionKind.CSAT).aggregate(a=Avg("number"))["a"]
    campaigns = list(
        SurveyCampaign.objects.filter(version__survey=survey).values_list("campaign_id", flat=True)
    )
    sent = (
        OutboxMessage.objects.filter(campaign_id__in=campaigns, state__in=_SENT).count() if campaigns else 0
    )
    from_campaigns = qs.filter(message_id__isnull=False).count() if sent else 0
    statuses = dict(
        FollowUp.objects.filter(source=FollowUpSource.SURVEY_DETRACTOR, source_ref__in=_response_refs(qs))
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return SurveyResults(
        responses=counts["responses"],
        started=SurveyResponse.objects.filter(survey=survey, state=ResponseState.IN_PROGRESS).count(),
        sent=sent,
        response_rate=from_campaigns / sent if sent else None,
        nps=nps,
        csat_average=float(csat) if csat is not None else None,
        parameters=parameters,
        followups={s: statuses.get(s, 0) for s in FollowUpStatus.values},
    )


def _response_refs(qs: QuerySet[SurveyResponse]) -> QuerySet[Any]:
    """The follow-up source references of the detractor responses of `qs`, as a subquery."""
    return (
        qs.filter(nps_score__lte=6)
        .annotate(ref=Concat(Value("survey-response:"), Cast("pk", CharField()), output_field=CharField()))
        .values("ref")
    )


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    nps: Nps
    parameters: dict[int, float]


def survey_breakdown(
    *, survey: Survey, dimension: str, language: str, start: dt.date | None = None, end: dt.date | None = None
) -> list[BreakdownRow]:
    """NPS and the average of each parameter per value of `dimension` (month: Jalali months in Persian)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    qs = completed_responses(survey=survey, start=start, end=end)
    column = {
        "channel": "channel",
        "branch": "branch_id",
        "region": "region_id",
        "segment": "segment_id",
    }.get(dimension, "day")
    if dimension == "month":
        qs = qs.annotate(day=TruncDate("completed_at", tzinfo=dt.UTC))
    nps_rows = (
        qs.values(column)
        .annotate(
            promoters=Count("pk", filter=Q(nps_score__gte=9)),
            passives=Count("pk", filter=Q(nps_score__gte=7, nps_score__lte=8)),
            detractors=Count("pk", filter=Q(nps_score__lte=6)),
        )
        .order_by()
    )
    answer_column = "response__" + column if column != "day" else "day"
    answers = completed_answers(survey=survey, start=start, end=end).filter(parameter__isnull=False)
    if dimension == "month":  # the answer's own completion time: no join
        answers = answers.annotate(day=TruncDate("completed_at", tzinfo=dt.UTC))
    rating_rows = (
        answers.values(answer_column, "parameter").annotate(total=Count("pk"), sum=Sum("number")).order_by()
    )

    def key_of(value: Any) -> str:
        if dimension == "month":
            return _month_key(value, language)
        return "" if value is None else str(value)

    counts: dict[str, list[int]] = {}
    for row in nps_rows:
        c = counts.setdefault(key_of(row[column]), [0, 0, 0])
        c[0] += row["promoters"]
        c[1] += row["passives"]
        c[2] += row["detractors"]
    sums: dict[str, dict[int, list[int]]] = {}
    for row in rating_rows:
        s = sums.setdefault(key_of(row[answer_column]), {}).setdefault(row["parameter"], [0, 0])
        s[0] += row["sum"] or 0
        s[1] += row["total"]
    labels = _labels(dimension, set(counts), language)
    rows = [
        BreakdownRow(
            key,
            labels.get(key, key),
            nps_compute(promoters=c[0], passives=c[1], detractors=c[2]),
            {pid: total / n for pid, (total, n) in sums.get(key, {}).items() if n},
        )
        for key, c in counts.items()
    ]
    # Months in time order; branches, regions, segments and channels by name.
    return sorted(rows, key=lambda r: r.key if dimension == "month" else r.label)


def _month_key(day: dt.date | None, language: str) -> str:
    if day is None:
        return ""
    if language == "fa":
        j = jdatetime.date.fromgregorian(date=day)
        return f"{j.year:04d}-{j.month:02d}"
    return f"{day.year:04d}-{day.month:02d}"


def _labels(dimension: str, keys: set[str], language: str) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdigit()]
    none = _("Not known")
    if dimension == "channel":
        return {k: str(SurveyChannel(k).label) if k in SurveyChannel.values else k for k in keys}
    if dimension == "month":
        out: dict[str, str] = {}
        for k in keys:
            if not k:
                out[k] = none
            elif language == "fa":
                year, month = (int(x) for x in k.split("-"))
                out[k] = to_persian_digits(f"{jdatetime.date(year, month, 1).j_months_fa[month - 1]} {year}")
            else:
                out[k] = k
        return out
    model: Any = {"branch": Branch, "region": Region, "segment": Segment}[dimension]
    names = {
        str(obj.pk): obj.display_name(language) if hasattr(obj, "display_name") else str(obj)
        for obj in model.objects.filter(pk__in=ids)
    }
    return {k: names.get(k, k or none) for k in keys}


def text_answers(*, survey: Survey, search: str = "") -> QuerySet[Answer]:
    """Free-text answers of completed responses, newest first, containing `search` when given."""
    qs = (
        completed_answers(survey=survey)
        .filter(question__kind=QuestionKind.TEXT)
        .select_related("question", "response")
    )
    if search.strip():
        qs = qs.filter(text__icontains=search.strip())
    return qs.order_by("-response__completed_at", "-pk")


def export_rows(*, survey: Survey) -> Iterator[list[Any]]:
    """One header row, then one row per completed response: when, channel, language, NPS, then every question."""
    questions = list(Question.objects.filter(version__survey=survey).order_by("version__number", "position"))
    header = [
        _("Response"),
        _("Version"),
        _("Completed at"),
        _("Channel"),
        _("Language"),
        _("Customer"),
        "NPS",
    ]
    yield header + [f"v{q.version.number}.{q.position} {q.text()}" for q in questions]
    column = {q.pk: i for i, q in enumerate(questions)}
    responses = completed_responses(survey=survey).select_related("version").order_by("pk")
    for chunk_start in range(0, responses.count(), 2000):
        chunk = list(responses[chunk_start : chunk_start + 2000])
        by_response: dict[int, list[Answer]] = {}
        for answer in Answer.objects.filter(response__in=[r.pk for r in chunk]):
            by_response.setdefault(answer.response_id, []).append(answer)
        for response in chunk:
            cells: list[Any] = [""] * len(questions)
            for answer in by_response.get(response.pk, []):
                if answer.choices:
                    value: Any = ", ".join(answer.choices)
                elif answer.number is not None:
                    value = answer.number
                else:
                    value = answer.text
                cells[column[answer.question_id]] = value
            yield [
                response.pk,
                response.version.number,
                timezone.localtime(response.completed_at).isoformat(timespec="minutes")
                if response.completed_at
                else "",
                response.channel,
                response.language,
                response.customer_id or "",
                "" if response.nps_score is None else response.nps_score,
                *cells,
            ]
