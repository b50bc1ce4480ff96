"""Load on the public survey page: concurrent respondents through campaign links (PostgreSQL).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/navid_surveys_load .venv/bin/python bench/survey_load.py \
    --respondents 50 --seconds 60
Use a scratch database: the script migrates it, adds a two-page survey (NPS and a rating; then a choice and, for a
detractor, "what went wrong") sent by a satisfaction campaign with enough messages, starts `navid web` on
127.0.0.1 (waitress, --threads), and runs `--respondents` virtual respondents in threads for `--seconds`: each
takes a fresh link and does GET page 1 -> POST -> (redirect) GET page 2 -> POST -> thank-you page, then the next
link. Every request's latency is recorded; p50/p95/p99 and errors are printed. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


def _prepare(links: int) -> tuple[list[str], dict[str, int]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from navid.campaigns.models import Campaign, OutboxMessage
    from navid.campaigns.tokens import message_token
    from navid.customers.models import Customer
    from navid.surveys import services
    from navid.surveys.models import EvaluationParameter, QuestionKind

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    call_command("migrate", interactive=False, verbosity=0)
    survey = services.survey_create(actor=None, name="Load")
    speed = EvaluationParameter.objects.get(code="speed")
    services.question_save(
        actor=None, survey=survey, values={"kind": "nps", "text_en": "Recommend?", "page": 1}
    )
    services.question_save(
        actor=None,
        survey=survey,
        values={"kind": "rating", "text_en": "Speed?", "page": 1, "parameter": str(speed.pk)},
    )
    nps = survey.versions.get().questions.get(kind=QuestionKind.NPS)
    services.question_save(
        actor=None,
        survey=survey,
        values={
            "kind": "text",
            "text_en": "What went wrong?",
            "page": 2,
            "condition_question": str(nps.pk),
            "condition_operator": "lte",
            "condition_value": "6",
        },
    )
    services.question_save(
        actor=None,
        survey=survey,
        values={"kind": "single", "text_en": "Why?", "page": 2, "choices": "a | A deposit\nb | A loan"},
    )
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    campaign = Campaign.objects.create(
        name="Load", goal="satisfaction", owner=owner, starts_at=timezone.now()
    )
    services.survey_campaign_link(actor=None, campaign=campaign, survey=survey)
    customers = list(Customer.objects.values_list("pk", flat=True)[:1])
    if not customers:
        customers = [
            Customer.objects.create(kind="person", status="customer", first_name="Load", language="en").pk
        ]
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            campaign=campaign,
            customer_id=customers[0],
            channel="email",
            language="en",
            address="load@example.com",
            idempotency_key=f"load:{campaign.pk}:{i}",
            state="sent",
            sent_at=timezone.now(),
        )
        for i in range(links)
    )
    questions = {q.kind: q.pk for q in survey.versions.get().questions.all()}
    return [message_token(message_id=m.pk, purpose="survey") for m in messages], questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--respondents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=16, help="server threads")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="web server processes on --port, --port+1, ...; respondent i uses server i mod N (as a proxy would)",
    )
    parser.add_argument("--links", type=int, default=40000)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a respondent reads a page before answering (0: none)",
    )
    args = parser.parse_args()

    # The server runs as in production (no debug); links are signed with the same key it checks them with.
    os.environ["NAVID_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-survey-load-" + "k" * 40)
    tokens, questions = _prepare(args.links)
    env = {**os.environ}
    ports = [args.port + n for n in range(args.servers)]
    servers = [
        subprocess.Popen(
            [str(ROOT / ".venv/bin/navid"), "web", "--port", str(port), "--threads", str(args.threads)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("HEAD", "/login/")
                    break
                except OSError:
                    time.sleep(0.2)
        warm = args.threads * len(ports)
        _warm_up(args, tokens[-warm:], ports)
        _run(args, tokens[:-warm], questions, ports)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def _warm_up(args: argparse.Namespace, tokens: list[str], ports: list[int]) -> None:
    """One page per server thread, not measured: every thread opens its database connection and the templates
    are compiled before the clock starts."""

    def fetch(token: str, port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", f"/s/{token}/?lang=en")
        conn.getresponse().read()
        conn.close()

    threads = [
        threading.Thread(target=fetch, args=(token, ports[i % len(ports)])) for i, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _run(args: argparse.Namespace, tokens: list[str], questions: dict[str, int], ports: list[int]) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    completed = [0]
    lock = threading.Lock()
    token_iter = iter(tokens)
    deadline = time.perf_counter() + args.seconds

    def request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None) -> int:
        data = urlencode(body or {}, doseq=True)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        started = time.perf_counter()
        conn.request(method, path, body=data if body is not None else None, headers=headers)
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
        return response.status

    def respondent(seed: int) -> None:
        rng = random.Random(seed)
        port = ports[seed % len(ports)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                token = next(token_iter, None)
            if token is None:
                return
            url = f"/s/{token}/"
            score = rng.randint(0, 10)
            try:
                steps = [
                    ("GET", url + "?lang=en", None, 200),
                    (
                        "POST",
                        url,
                        {
                            "page": 1,
                            "lang": "en",
                            f"q{questions['nps']}": score,
                            f"q{questions['rating']}": rng.randint(1, 5),
                        },
                        302,
                    ),
                    ("GET", url + "?lang=en", None, 200),
                    (
                        "POST",
                        url,
                        {
                            "page": 2,
                            "lang": "en",
                            f"q{questions['single']}": "a",
                            f"q{questions['text']}": "slow" if score <= 6 else "",
                        },
                        200,
                    ),
                ]
                for method, path, body, expected in steps:
                    if method == "POST" and args.think:
                        time.sleep(rng.uniform(0.5, 1.5) * args.think)
                    status = request(conn, method, path, body)
                    if status != expected:
                        with lock:
                            errors.append(f"{method} {status}")
                        break
                else:
                    with lock:
                        completed[0] += 1
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    threads = [threading.Thread(target=respondent, args=(i,)) for i in range(args.respondents)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

    print(
        f"{args.respondents} respondents (think {args.think:g} s), {elapsed:.0f} s: {len(latencies)} requests "
        f"({len(latencies) / elapsed:.0f}/s), {completed[0]} surveys completed, {len(errors)} errors"
        f"{' ' + str(sorted(set(errors))) if errors else ''}"
    )
    print(
        f"latency ms: p50 {pct(0.50):.0f}, p95 {pct(0.95):.0f}, p99 {pct(0.99):.0f}, "
        f"mean {statistics.fmean(ordered) * 1000 if ordered else float('nan'):.0f}"
    )


if __name__ == "__main__":
    main()
