"""Time the NPS and per-parameter report of one survey over many answers (PostgreSQL).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_surveys_bench .venv/bin/python bench/survey_report.py \
    --responses 1000000
Use a scratch database: the script migrates it and adds one survey whose responses and answers are written
set-based with generate_series: each response answers the NPS question and rates one of five evaluation
parameters, so 1,000,000 responses make 2,000,000 answer rows. It then times `survey_results` (NPS with its
interval, the three groups, the average per parameter, the follow-up counts) and the breakdown by month, three
times each, and prints the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, required=True)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from navid.surveys import selectors, services
    from navid.surveys.models import EvaluationParameter, QuestionKind, Survey

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    call_command("migrate", interactive=False, verbosity=0)
    survey = services.survey_create(actor=None, name=f"Bench {args.responses}")
    services.question_save(
        actor=None, survey=survey, values={"kind": "nps", "text_en": "Recommend?", "page": 1}
    )
    parameters = list(EvaluationParameter.objects.order_by("sort_order")[:5])
    for parameter in parameters:
        services.question_save(
            actor=None,
            survey=survey,
            values={
                "kind": "rating",
                "text_en": parameter.name_en,
                "page": 1,
                "parameter": str(parameter.pk),
            },
        )
    version = survey.versions.get()
    nps_q = version.questions.get(kind=QuestionKind.NPS)
    rating_qs = list(version.questions.filter(kind=QuestionKind.RATING).order_by("position"))
    written = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO surveys_surveyresponse (survey_id, version_id, channel, language, state, page, started_at,
                completed_at, nps_score, branch_id, region_id)
            SELECT %s, %s, (ARRAY['email','sms','phone','kiosk'])[1 + i %% 4], 'fa', 'completed', 1,
                   now() - (i %% 365) * interval '1 day', now() - (i %% 365) * interval '1 day',
                   (i::bigint * 7919) %% 11, NULL, NULL
            FROM generate_series(1, %s) AS i
            """,
            [survey.pk, version.pk, args.responses],
        )
        cursor.execute(
            """
            INSERT INTO surveys_answer (response_id, question_id, survey_id, parameter_id, number, completed_at, text,
                choices)
            SELECT r.id, %s, %s, NULL, r.nps_score, r.completed_at, '', '[]'::jsonb FROM surveys_surveyresponse r
            WHERE r.survey_id = %s
            """,
            [nps_q.pk, survey.pk, survey.pk],
        )
        question_ids = [q.pk for q in rating_qs]
        parameter_ids = [q.parameter_id for q in rating_qs]
        cursor.execute(
            """
            INSERT INTO surveys_answer (response_id, question_id, survey_id, parameter_id, number, completed_at, text,
                choices)
            SELECT r.id, (%s::bigint[])[1 + r.id %% 5], %s, (%s::bigint[])[1 + r.id %% 5],
                   1 + ((r.id / 5) * 3 + r.id %% 3) %% 5, r.completed_at, '', '[]'::jsonb
            FROM surveys_surveyresponse r WHERE r.survey_id = %s
            """,
            [question_ids, survey.pk, parameter_ids, survey.pk],
        )
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load; it lets the report read its indexes only.
        cursor.execute("VACUUM ANALYZE surveys_surveyresponse")
        cursor.execute("VACUUM ANALYZE surveys_answer")
        cursor.execute("SELECT count(*) FROM surveys_answer WHERE survey_id = %s", [survey.pk])
        answers = cursor.fetchone()[0]
    print(f"wrote {args.responses} responses and {answers} answers in {time.perf_counter() - written:.1f} s")

    survey = Survey.objects.get(pk=survey.pk)
    timings: dict[str, list[float]] = {"results": [], "by month": [], "by channel": []}
    for _run in range(3):
        started = time.perf_counter()
        results = selectors.survey_results(survey=survey)
        timings["results"].append(time.perf_counter() - started)
        started = time.perf_counter()
        months = selectors.survey_breakdown(survey=survey, dimension="month", language="fa")
        timings["by month"].append(time.perf_counter() - started)
        started = time.perf_counter()
        selectors.survey_breakdown(survey=survey, dimension="channel", language="en")
        timings["by channel"].append(time.perf_counter() - started)
    print(
        f"responses {results.responses}, NPS {results.nps.score:.2f} "
        f"[{results.nps.ci_low:.2f}, {results.nps.ci_high:.2f}], "
        f"parameters {[round(p.average or 0, 3) for p in results.parameters[:5]]}, {len(months)} Jalali months"
    )
    for name, values in timings.items():
        print(
            f"{name}: median {statistics.median(values):.3f} s (runs: {', '.join(f'{v:.3f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
