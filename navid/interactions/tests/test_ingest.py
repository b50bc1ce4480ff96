"""Ingest of interaction feeds: CSV and JSON lines, every kind of bad line, file-level refusals, reruns."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from navid.accounts.models import AuditEntry
from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory
from navid.core.errors import ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.interactions import ingest
from navid.interactions.models import Interaction, InteractionIngestJob
from navid.interactions.services import interaction_ingest_job_create, interaction_ingest_job_run
from navid.interactions.tests.factories import ComplaintCategoryFactory

pytestmark = pytest.mark.django_db

HEADER = "customer_id,external_id,national_id,kind,channel,direction,occurred_at,outcome,complaint_category,notes\n"


def _create(
    tmp_path: Path, content: bytes, name: str = "feed.csv", actor: Any = None
) -> InteractionIngestJob:
    path = tmp_path / name
    path.write_bytes(content)
    with path.open("rb") as handle:
        return interaction_ingest_job_create(actor=actor, file_name=name, content=handle)


def _run(tmp_path: Path, content: bytes, name: str = "feed.csv", actor: Any = None) -> InteractionIngestJob:
    return interaction_ingest_job_run(job_id=_create(tmp_path, content, name, actor).pk)


@pytest.fixture
def customers() -> dict[str, Any]:
    ComplaintCategoryFactory()
    return {
        "a": CustomerFactory(external_id="C-1", national_id="0012345679"),
        "b": CustomerFactory(external_id="C-2"),
    }


def test_csv_good_lines_are_written_and_bad_lines_reported(tmp_path: Path, customers: dict[str, Any]) -> None:
    a, b = customers["a"], customers["b"]
    content = (
        HEADER
        + f"{a.pk},,,call,,outbound,2025-02-20 10:00,completed,,\n"
        + ",C-2,,sms,,outbound,2025-02-20T11:00:00Z,,,\n"
        + ",,۰۰۱۲۳۴۵۶۷۹,complaint,phone,,1403/12/02 09:00,open,fees,Charged twice\n"
        + "999999,,,call,,inbound,2025-02-20 10:00,,,\n"
        + f"{a.pk},,,fax,,inbound,2025-02-20 10:00,,,\n"
        + f"{b.pk},,,call,,inbound,2025-02-31 10:00,,,\n"
        + f"{b.pk},,,email,,inbound,2025-02-20 10:00,,,<script>alert(1)</script>\n"
        + f"{b.pk},,,complaint,web,,2025-02-20 10:00,,<img src=x onerror=alert(1)>,\n"
        + f"{a.pk},C-2,,call,,inbound,2025-02-20 10:00,,,\n"
        + ",,,call,,inbound,2025-02-20 10:00,,,\n"
    ).encode()
    job = _run(tmp_path, content)
    assert (job.state, job.format, job.rows_total, job.accepted_count, job.rejected_count) == (
        "succeeded",
        "csv",
        10,
        4,
        6,
    )
    assert job.message == "Ingested: 4 interactions accepted, 6 lines rejected."
    assert job.errors == [
        {"line": 5, "field": "customer_id", "reason": "no such customer among those you may see"},
        {
            "line": 6,
            "field": "kind",
            "reason": "must be one of: call, sms, email, letter, branch_visit, web_visit, referral, inquiry, "
            "complaint, request, meeting, social",
        },
        {"line": 7, "field": "occurred_at", "reason": "is not a real date and time"},
        {"line": 9, "field": "complaint_category", "reason": "unknown value “<img src=x onerror=alert(1)>”"},
        {"line": 10, "field": "external_id", "reason": "names another customer than customer_id"},
        {
            "line": 11,
            "field": "customer_id",
            "reason": "a line needs customer_id, external_id or national_id",
        },
    ]
    # written in the order of the customers, and of the file for each customer
    rows = list(
        Interaction.objects.order_by("id").values_list(
            "customer_id",
            "kind",
            "channel",
            "direction",
            "occurred_at",
            "complaint_category__code",
            "notes",
            "source",
        )
    )
    source = f"ingest:{job.pk}"
    assert rows == [
        (a.pk, "call", "phone", "outbound", dt.datetime(2025, 2, 20, 6, 30, tzinfo=dt.UTC), None, "", source),
        (
            a.pk,
            "complaint",
            "phone",
            "inbound",
            dt.datetime(2025, 2, 20, 5, 30, tzinfo=dt.UTC),
            "fees",
            "Charged twice",
            source,
        ),
        (b.pk, "sms", "sms", "outbound", dt.datetime(2025, 2, 20, 11, 0, tzinfo=dt.UTC), None, "", source),
        (
            b.pk,
            "email",
            "email",
            "inbound",
            dt.datetime(2025, 2, 20, 6, 30, tzinfo=dt.UTC),
            None,
            "<script>alert(1)</script>",
            source,
        ),
    ]
    entry = AuditEntry.objects.get(action="import")
    assert entry.changes == {"file": [None, "feed.csv"], "accepted": [None, 4], "rejected": [None, 6]}


def test_jsonl_with_bad_lines(tmp_path: Path, customers: dict[str, Any]) -> None:
    a = customers["a"]
    lines = [
        json.dumps({"customer_id": a.pk, "kind": "meeting", "channel": "field", "direction": "outbound",
                    "occurred_at": "2025-02-20T10:00:00+03:30", "duration_seconds": 3600, "rating": 4,
                    "cost": 0, "request_open": False, "notes": None}),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"external_id": "C-2", "kind": "web_visit", "occurred_at": "2025-02-21 08:00", "colour": "red"}),
        json.dumps({"external_id": "C-9", "kind": "web_visit", "occurred_at": "2025-02-21 08:00"}),
        json.dumps({"customer_id": "x1", "kind": "web_visit", "occurred_at": "2025-02-21 08:00"}),
    ]  # fmt: skip
    job = _run(tmp_path, "\n".join(lines).encode(), name="feed.jsonl")
    assert (job.state, job.format, job.accepted_count, job.rejected_count) == ("succeeded", "jsonl", 1, 5)
    assert job.errors == [
        {"line": 3, "field": "*", "reason": "is not valid JSON"},
        {"line": 4, "field": "*", "reason": "is not a JSON object"},
        {"line": 5, "field": "colour", "reason": "unknown field"},
        {"line": 6, "field": "external_id", "reason": "no such customer among those you may see"},
        {"line": 7, "field": "customer_id", "reason": "must be a whole number"},
    ]
    meeting = Interaction.objects.get()
    assert (
        meeting.customer,
        meeting.kind,
        meeting.duration_seconds,
        meeting.rating,
        meeting.occurred_at,
    ) == (
        a,
        "meeting",
        3600,
        4,
        dt.datetime(2025, 2, 20, 6, 30, tzinfo=dt.UTC),
    )


def test_windows_1256_csv_with_semicolons(tmp_path: Path, customers: dict[str, Any]) -> None:
    # Windows-1256 has only the Arabic yeh; it is stored as the Persian one
    content = (
        "external_id;kind;direction;occurred_at;notes\nC-1;call;inbound;2025-02-20 10:00;مشتري راضي بود\n"
    )
    job = _run(tmp_path, content.encode("cp1256"))
    assert (job.state, job.accepted_count) == ("succeeded", 1)
    assert Interaction.objects.get().notes == "مشتری راضی بود"


def test_running_the_job_twice_writes_once(tmp_path: Path, customers: dict[str, Any]) -> None:
    job = _create(tmp_path, (HEADER + ",C-1,,sms,,outbound,2025-02-20 10:00,,,\n").encode())
    interaction_ingest_job_run(job_id=job.pk)
    again = interaction_ingest_job_run(job_id=job.pk)
    assert (again.state, again.accepted_count, Interaction.objects.count()) == ("succeeded", 1, 1)


def test_a_run_stopped_half_way_resumes_after_its_last_batch(
    tmp_path: Path, customers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a feed of 5 lines (one bad) read in batches of 2, and a worker killed after the first batch
    monkeypatch.setattr(ingest, "BATCH", 2)
    body = "".join(f",C-1,,sms,,outbound,2025-02-2{n} 10:00,,,\n" for n in range(1, 5))
    job = _create(tmp_path, (HEADER + body + ",C-1,,fax,,,2025-02-20,,,\n").encode())
    original = ingest.Ingester.batches

    def killed_after_one(self: Any, *, after_line: int = 0) -> Any:
        batches = original(self, after_line=after_line)
        yield next(batches)
        raise KeyboardInterrupt  # not an Exception: like a killed worker, nothing marks the job failed

    monkeypatch.setattr(ingest.Ingester, "batches", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        interaction_ingest_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.accepted_count, Interaction.objects.count()) == ("running", 3, 2, 2)
    # when the task is delivered again
    monkeypatch.setattr(ingest.Ingester, "batches", original)
    job = interaction_ingest_job_run(job_id=job.pk)
    # then it resumes after line 3: every line once
    assert (job.state, job.rows_total, job.accepted_count, job.rejected_count) == ("succeeded", 5, 4, 1)
    assert sorted(Interaction.objects.values_list("occurred_at__day", flat=True)) == [21, 22, 23, 24]
    assert [e["line"] for e in job.errors] == [6]


def test_a_scoped_actor_ingests_only_for_customers_they_see(tmp_path: Path, make_user: Any) -> None:
    mine, theirs = BranchFactory(), BranchFactory()
    officer = make_user(Role.BRANCH_OFFICER, branch=mine)
    own = CustomerFactory(branch=mine)
    other = CustomerFactory(branch=theirs)
    content = (
        HEADER
        + f"{own.pk},,,call,,inbound,2025-02-20 10:00,,,\n{other.pk},,,call,,inbound,2025-02-20 10:00,,,\n"
    )
    job = _run(tmp_path, content.encode(), actor=officer)
    assert (job.accepted_count, job.rejected_count) == (1, 1)
    assert list(Interaction.objects.values_list("customer_id", flat=True)) == [own.pk]


def test_a_line_for_a_merged_customer_goes_to_the_survivor(tmp_path: Path) -> None:
    from navid.customers.services import customer_merge

    survivor, duplicate = CustomerFactory(), CustomerFactory()
    customer_merge(actor=None, survivor=survivor, duplicate=duplicate)
    job = _run(tmp_path, (HEADER + f"{duplicate.pk},,,call,,inbound,2025-02-20 10:00,,,\n").encode())
    assert job.accepted_count == 1
    assert Interaction.objects.get().customer_id == survivor.pk


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"customer_id,kind,occured_at\n1,call,2025-01-01\n",
            "Unknown columns: occured_at. Columns are: customer_id, external_id, national_id, kind, channel, "
            "direction, occurred_at, outcome, duration_seconds, cost, employee, campaign_id, notes, rating, "
            "complaint_category, returned_product, request_open.",
        ),
        (
            b"kind,occurred_at\ncall,2025-01-01\n",
            "Required column missing: one of customer_id, external_id, national_id.",
        ),
        (b"customer_id,kind,Kind\n1,call,sms\n", "Columns given twice: kind"),
        (b"customer_id,kind\n1,call\n2,\xd9\n", "Line 3: the file is not valid utf-8 text."),
    ],
)
def test_a_file_that_cannot_be_read_writes_nothing(
    tmp_path: Path, customers: dict[str, Any], content: bytes, message: str
) -> None:
    job = _run(tmp_path, content)
    assert (job.state, job.message, job.accepted_count) == ("failed", message, 0)
    assert Interaction.objects.count() == 0


def test_utf8_error_far_down_is_named_by_line(tmp_path: Path, customers: dict[str, Any]) -> None:
    body = "".join(f",C-1,,sms,,outbound,2025-02-20 10:00,,,note {n}\n" for n in range(20_000))
    job = _run(tmp_path, (HEADER + body).encode() + b",C-1,,sms,,outbound,2025-02-20 10:00,,,\xd9\n")
    assert (job.state, job.message) == ("failed", "Line 20002: the file is not valid utf-8 text.")
    assert Interaction.objects.count() == 0


def test_same_file_twice_and_spreadsheets_are_refused(tmp_path: Path, customers: dict[str, Any]) -> None:
    content = (HEADER + ",C-1,,sms,,outbound,2025-02-20 10:00,,,\n").encode()
    first = _run(tmp_path, content)
    with pytest.raises(ValidationFailed) as caught:
        _create(tmp_path, content, name="again.csv")
    assert caught.value.errors == {
        "file": [f"This file was already ingested (job {first.pk}); it was not read again."]
    }
    with pytest.raises(ValidationFailed) as caught:
        _create(tmp_path, b"PK\x03\x04rest", name="feed.xlsx")
    assert caught.value.errors == {
        "file": ["Interactions are read from CSV or JSON lines files; save the sheet as CSV."]
    }
    assert InteractionIngestJob.objects.count() == 1
    assert sorted(p.name for p in (tmp_path / "media" / "interaction-ingests").iterdir()) == [
        Path(first.stored_path).name
    ]


def test_a_feed_where_every_line_is_rejected_fails(tmp_path: Path, customers: dict[str, Any]) -> None:
    job = _run(tmp_path, (HEADER + ",C-1,,fax,,,2025-02-20,,,\n").encode())
    assert (job.state, job.message) == ("failed", "No line was accepted: 1 lines were rejected.")


def test_lines_for_two_records_merged_into_one_and_merged_again_reach_the_last_survivor(
    tmp_path: Path,
) -> None:
    from navid.customers.services import customer_merge

    first, second, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    customer_merge(actor=None, survivor=second, duplicate=first)
    customer_merge(actor=None, survivor=third, duplicate=second)
    other = CustomerFactory()
    customer_merge(actor=None, survivor=third, duplicate=other)
    body = "".join(f"{pk},,,call,,inbound,2025-02-20 10:00,,,\n" for pk in (first.pk, second.pk, other.pk))
    job = _run(tmp_path, (HEADER + body).encode())
    assert job.accepted_count == 3
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {third.pk}
