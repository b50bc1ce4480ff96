"""Import of customer files: formats, encodings, every kind of bad row, all-or-nothing and skip-invalid."""

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from navid.accounts.models import AuditEntry
from navid.accounts.tests.factories import BranchFactory, RegionFactory
from navid.core.errors import ValidationFailed
from navid.customers.models import ConversionEvent, Customer, ImportJob
from navid.customers.services import import_job_create, import_job_run
from navid.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,first_name,last_name,national_id,phone,email,status,region,branch\n"


def _run(tmp_path: Path, content: bytes, name: str = "c.csv", **options: Any) -> ImportJob:
    path = tmp_path / name
    path.write_bytes(content)
    with path.open("rb") as handle:
        job = import_job_create(actor=None, file_name=name, content=handle, **options)
    return import_job_run(job_id=job.pk)


@pytest.fixture
def places(db: None) -> None:
    region = RegionFactory(code="tehran", name_en="Tehran", name_fa="تهران", name_ru="Тегеран")
    BranchFactory(code="vanak", name_en="Vanak", name_fa="ونک", name_ru="Ванак", region=region)


def test_valid_file_is_imported_with_conversions(tmp_path: Path, places: None) -> None:
    content = (
        HEADER
        + "C1,علي,كريمي,0012345679,09121234567,a@example.com,customer,تهران,vanak\n"
        + "C2,Иван,Петров,500100732259,+79161234567,,prospect,tehran,\n"
    ).encode()
    job = _run(tmp_path, content)
    assert (job.state, job.created_count, job.updated_count, job.rejected_count) == ("succeeded", 2, 0, 0)
    ali = Customer.objects.get(external_id="C1")
    assert (ali.first_name, ali.last_name, ali.phone) == ("علی", "کریمی", "+989121234567")
    assert ali.branch.code == "vanak" and ali.region.code == "tehran"
    assert ali.search_text == "علی کریمی 0012345679 989121234567 a@example.com"
    ivan = Customer.objects.get(external_id="C2")
    assert ivan.region.code == "tehran" and ivan.branch is None
    assert list(ConversionEvent.objects.values_list("customer__external_id", "source")) == [("C1", "import")]
    assert AuditEntry.objects.filter(action="import").count() == 1


def test_an_import_inside_a_transaction_leaves_its_settings_behind(tmp_path: Path) -> None:
    # given a caller's transaction (this test's) on PostgreSQL, where the write tunes the server for itself
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the settings are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), current_setting('gin_pending_list_limit')")
        before = cursor.fetchone()
    job = _run(tmp_path, (HEADER + "C1,Ali,Karimi,,,,customer,,\n").encode())
    assert job.state == "succeeded"
    # then the rest of the caller's transaction runs with the settings it had
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('work_mem'), current_setting('gin_pending_list_limit'), "
            "current_setting('enable_seqscan')"
        )
        assert cursor.fetchone() == (*before, "on")


def test_external_ids_with_separators_in_them_find_their_customer(tmp_path: Path) -> None:
    CustomerFactory(external_id="A,1", last_name="Comma")
    CustomerFactory(external_id="A", last_name="Plain")
    job = _run(tmp_path, b'external_id,last_name\n"A,1",Updated\n')
    assert (job.created_count, job.updated_count) == (0, 1)
    assert Customer.objects.get(external_id="A,1").last_name == "Updated"
    assert Customer.objects.get(external_id="A").last_name == "Plain"


def test_same_external_id_updates_and_audits_the_change(tmp_path: Path, places: None) -> None:
    CustomerFactory(
        external_id="C1", first_name="Old", last_name="Name", national_id="0012345679", status="prospect"
    )
    job = _run(tmp_path, (HEADER + "C1,New,Name,0012345679,,,customer,,\n").encode())
    assert (job.created_count, job.updated_count) == (0, 1)
    customer = Customer.objects.get(external_id="C1")
    assert (customer.first_name, customer.status) == ("New", "customer")
    assert ConversionEvent.objects.filter(customer=customer).count() == 1
    entry = AuditEntry.objects.get(record_id=str(customer.pk), action="update")
    assert entry.changes["first_name"] == ["Old", "New"]


def test_one_bad_row_stops_everything_and_every_problem_is_reported(tmp_path: Path, places: None) -> None:
    content = (
        HEADER
        + "C1,Ali,Karimi,0012345679,09121234567,,customer,,\n"
        + "C2,Bad,Row,0012345678,12,not-an-email,maybe,nowhere,\n"
        + 'C3,=HYPERLINK("http://x"),Evil,,,,,,\n'
        + "C4,X,Y,,,,,,,extra\n"
        + "C1,Dup,Row,,,,,,\n"
    ).encode()
    job = _run(tmp_path, content)
    assert job.state == "failed"
    assert Customer.objects.count() == 0
    assert job.rejected_count == 4
    found = {(e["row"], e["column"]) for e in job.errors}
    assert found == {
        (3, "national_id"),
        (3, "phone"),
        (3, "email"),
        (3, "status"),
        (3, "region"),
        (4, "first_name"),
        (5, "*"),
        (6, "external_id"),
    }
    reasons = {(e["row"], e["column"]): e["reason"] for e in job.errors}
    assert reasons[(4, "first_name")] == "looks like a spreadsheet formula; it was not imported"
    assert reasons[(6, "external_id")] == "repeats row 2 of this file"
    assert "nothing was imported" in job.message


def test_skip_invalid_imports_the_rest(tmp_path: Path, places: None) -> None:
    content = (HEADER + "C1,Ali,Karimi,0012345679,,,,,\nC2,Bad,Row,0012345678,,,,,\n").encode()
    job = _run(tmp_path, content, skip_invalid=True)
    assert (job.state, job.created_count, job.rejected_count) == ("succeeded", 1, 1)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["C1"]


def test_dry_run_writes_nothing(tmp_path: Path, places: None) -> None:
    job = _run(tmp_path, (HEADER + "C1,Ali,Karimi,0012345679,,,,,\n").encode(), dry_run=True)
    assert (job.state, job.created_count) == ("succeeded", 1)
    assert job.message.startswith("Dry run")
    assert Customer.objects.count() == 0


def test_windows_1256_and_semicolons(tmp_path: Path, places: None) -> None:
    # Windows-1256 has the Arabic yeh (ي), not the Persian one, and no Persian digits.
    content = "شماره مشتري;نام;نام خانوادگي;کد ملي\nC1;علي;کريمي;0012345679\n".encode("cp1256")
    job = _run(tmp_path, content)
    assert job.state == "succeeded", job.message
    customer = Customer.objects.get()
    assert (customer.external_id, customer.last_name, customer.national_id) == ("C1", "کریمی", "0012345679")


def test_wrong_delimiter_is_explained(tmp_path: Path) -> None:
    job = _run(tmp_path, "last_name|first_name\nA|B\n".replace("|", "#").encode())
    assert job.state == "failed"
    assert "Required column missing" in job.message
    assert "single column" in job.message


def test_invalid_utf8_is_named(tmp_path: Path) -> None:
    content = ("last_name\n" + "a\n" * 30000).encode() + b"\xff\xfe\n"
    job = _run(tmp_path, content)
    assert job.state == "failed"
    assert job.message == "Line 30002: the file is not valid utf-8 text."


def test_a_10_mb_field_is_rejected_by_row_and_column(tmp_path: Path) -> None:
    content = b"last_name,first_name\nKarimi," + b"x" * (10 * 1024 * 1024) + b"\n"
    job = _run(tmp_path, content)
    assert job.state == "failed"
    assert job.errors == [{"row": 2, "column": "first_name", "reason": "is longer than 100 characters"}]


def test_national_id_of_another_customer_is_rejected(tmp_path: Path) -> None:
    CustomerFactory(external_id="OTHER", national_id="0012345679")
    job = _run(tmp_path, b"external_id,last_name,national_id\nC1,X,0012345679\n")
    assert job.errors == [{"row": 2, "column": "national_id", "reason": "belongs to customer OTHER"}]


def test_xlsx_with_mapping_and_formula_cells(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Family", "Given", "Code"])
    sheet.append(["Karimi", "Ali", "0012345679"])
    sheet.append(["Evil", '=cmd|" /C calc"!A0', ""])
    path = tmp_path / "c.xlsx"
    book.save(path)
    job = _run(
        tmp_path,
        path.read_bytes(),
        name="c.xlsx",
        mapping={"Family": "last_name", "Given": "first_name", "Code": "national_id"},
        skip_invalid=True,
    )
    assert (job.state, job.created_count, job.rejected_count) == ("succeeded", 1, 1)
    assert job.errors[0]["row"] == 3 and job.errors[0]["column"] == "Given"


def test_a_file_that_is_not_a_table(tmp_path: Path) -> None:
    job = _run(tmp_path, b"PK\x03\x04garbage", name="x.xlsx")
    assert (job.state, job.message) == ("failed", "The file is not a readable XLSX workbook.")


def test_running_a_job_twice_imports_once(tmp_path: Path) -> None:
    job = _run(tmp_path, b"last_name\nKarimi\n")
    import_job_run(job_id=job.pk)
    assert Customer.objects.count() == 1


def test_progress_estimates_the_total_while_reading(tmp_path: Path) -> None:
    # given a CSV of 5,000 rows, checked in chunks of 2,000
    from navid.customers.importing import import_run

    path = tmp_path / "p.csv"
    path.write_text("last_name\n" + "".join(f"Name{i:05d}\n" for i in range(5000)))
    job = ImportJob.objects.create(file_name="p.csv", stored_path=str(path), dry_run=True)
    seen: list[tuple[int, int]] = []
    import_run(job=job, progress=lambda rows, total: seen.append((rows, total)))
    # then each report estimates the total from the bytes read so far (10 bytes a line, header included)
    assert seen == [(2000, 4998), (4000, 4999), (5000, 5000), (5000, 5000)]


def test_two_columns_for_one_field_are_refused(tmp_path: Path) -> None:
    job = _run(tmp_path, b"a,b\nX,Y\n", mapping={"a": "last_name", "b": "last_name"})
    assert (job.state, job.message) == ("failed", "More than one column is mapped to: last_name")
    assert Customer.objects.count() == 0


def test_an_unexpected_error_fails_the_job_and_is_raised(tmp_path: Path, monkeypatch: Any) -> None:
    # given an import whose run breaks in an unforeseen way
    import navid.customers.importing as importing

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(importing, "import_run", broken)
    path = tmp_path / "c.csv"
    path.write_bytes(b"last_name\nKarimi\n")
    with path.open("rb") as handle:
        job = import_job_create(actor=None, file_name="c.csv", content=handle)
    # when it runs, then the error is not swallowed and the job does not stay "running"
    with pytest.raises(RuntimeError, match="disk gone"):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.message) == (
        "failed",
        "The import stopped on an unexpected error; nothing was imported.",
    )
    assert job.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_rows_are_written_while_the_check_goes_on(
    tmp_path: Path, monkeypatch: Any
) -> None:
    # given no outer transaction (as in a worker) and a file "large" enough for the writer process
    from django.db import connection

    import navid.customers.importing as importing

    monkeypatch.setattr(importing, "PROCESS_WRITER_BYTES", 1000)
    started: list[int] = []
    real_init = importing.ProcessSink.__init__

    def spying_init(self: Any, job: ImportJob) -> None:
        real_init(self, job)
        started.append(self.child.pid)

    monkeypatch.setattr(importing.ProcessSink, "__init__", spying_init)

    from navid.customers.selectors import customer_search_filter

    region = RegionFactory(code="tehran", name_en="Tehran", name_fa="تهران", name_ru="Тегеран")
    assert not connection.in_atomic_block
    rows = "".join(f"C{i},علي,كريمي{i},,,,customer,tehran\n" for i in range(4500))
    job = _run(tmp_path, (HEADER.replace(",branch", "") + rows).encode())
    # then a writer process wrote every row in one go, with its conversion and its place in the search index
    assert len(started) == 1
    assert (job.state, job.created_count, job.rejected_count) == ("succeeded", 4500, 0)
    assert Customer.objects.filter(region=region).count() == 4500
    assert ConversionEvent.objects.count() == 4500
    assert Customer.objects.filter(customer_search_filter("كريمي4499")).count() == 1
    if connection.vendor == "postgresql":
        # and the trigram index's pending list, filled for the import, was merged before the commit
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            cursor.execute("SELECT pending_tuples FROM pgstatginindex('customer_search_trgm')")
            assert cursor.fetchone() == (0,)
    # and customers created afterwards still enter the search index (the insert trigger is back)
    CustomerFactory(last_name="Tahmasbi", external_id="AFTER")
    assert Customer.objects.filter(customer_search_filter("tahmasbi")).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_small_file_is_written_without_a_writer_process(tmp_path: Path, monkeypatch: Any) -> None:
    # given a file far below the writer process's threshold, imported outside a transaction
    import navid.customers.importing as importing

    def no_process(self: Any, job: ImportJob) -> None:
        raise AssertionError("a writer process was started for a small file")

    monkeypatch.setattr(importing.ProcessSink, "__init__", no_process)
    job = _run(tmp_path, b"last_name\nKarimi\n")
    # then it is written in this process, at once
    assert (job.state, job.created_count) == ("succeeded", 1)
    assert Customer.objects.filter(created_by_import=job).count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_one_bad_row_still_writes_nothing(tmp_path: Path, monkeypatch: Any) -> None:
    import navid.customers.importing as importing

    monkeypatch.setattr(importing, "PROCESS_WRITER_BYTES", 1000)
    rows = "".join(f"C{i},Ali,Karimi,,,,customer,\n" for i in range(4500))
    bad = "C9999,Ali,Karimi,,not-a-phone,,customer,\n"
    job = _run(tmp_path, (HEADER.replace(",branch", "") + rows + bad).encode())
    assert (job.state, job.rejected_count, job.errors[0]["row"]) == ("failed", 1, 4502)
    assert Customer.objects.count() == 0
    # and the search trigger dropped for the write is back after the rollback
    CustomerFactory(last_name="Tahmasbi")
    from navid.customers.selectors import customer_search_filter

    assert Customer.objects.filter(customer_search_filter("tahmasbi")).count() == 1


def _insert_row(**values: Any) -> tuple[Any, ...]:
    from navid.customers.importing import _DEFAULTS, _INSERT_COLUMNS

    row = {**_DEFAULTS, "search_text": "x", **values}
    return tuple(row.get(column) for column in _INSERT_COLUMNS)


@pytest.mark.django_db(transaction=True)
def test_a_killed_writer_process_commits_nothing_and_is_reported() -> None:
    # given an import whose writer process has received rows and is then killed
    from navid.customers.importing import ImportOutcome, ProcessSink, _Chunk

    job = ImportJob.objects.create(file_name="k.csv", stored_path="/nonexistent")
    sink = ProcessSink(job)
    sink.put(_Chunk(inserts=[_insert_row(last_name=f"Killed{i}") for i in range(10)]))
    sink.child.kill()
    # when the import asks it to commit, then it learns that the writer has gone, and nothing was written
    with pytest.raises(RuntimeError, match=r"The import's writer process stopped \(exit code -9\)"):
        sink.finish(ImportOutcome(rows_total=10, created=10))
    assert Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_writer_process_that_breaks_a_unique_key_rolls_back_and_says_so() -> None:
    # given a customer committed by someone else after the file was checked, with the external ID of a new row
    from django.db import IntegrityError

    from navid.customers.importing import ImportOutcome, ProcessSink, _Chunk

    CustomerFactory(external_id="E1", last_name="Earlier")
    job = ImportJob.objects.create(file_name="u.csv", stored_path="/nonexistent")
    sink = ProcessSink(job)
    sink.put(_Chunk(inserts=[_insert_row(last_name="First", external_id="E0")]))
    sink.put(_Chunk(inserts=[_insert_row(last_name="Clash", external_id="E1")]))
    # when the writer commits, then the database's refusal comes back and the first chunk is rolled back too
    with pytest.raises(IntegrityError):
        sink.finish(ImportOutcome(rows_total=2, created=2))
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["E1"]


def test_rows_sent_in_several_copies_and_updates_between_them_all_arrive(
    tmp_path: Path, monkeypatch: Any
) -> None:
    # given COPY statements of 1,000 rows (PostgreSQL), chunks of 2,000 and existing prospects to update
    import navid.customers.importing as importing

    monkeypatch.setattr(importing, "_COPY_ROWS", 1000)
    for i in (10, 2500, 4400):
        CustomerFactory(external_id=f"C{i}", last_name="Old")
    rows = "".join(f"C{i},Ali,New{i},,,,{'customer' if i % 2 == 0 else 'prospect'},,\n" for i in range(4500))
    job = _run(tmp_path, (HEADER + rows).encode())
    # then every row was written once, the updates took effect, and each new or converted customer has
    # one conversion event (even rows are customers; the three existing ones were prospects)
    assert (job.state, job.created_count, job.updated_count) == ("succeeded", 4497, 3)
    assert Customer.objects.count() == 4500
    assert ConversionEvent.objects.count() == 2250
    assert ConversionEvent.objects.filter(customer__external_id__in=["C10", "C2500", "C4400"]).count() == 3
    assert list(
        Customer.objects.filter(external_id__in=["C10", "C4400"])
        .values_list("last_name", flat=True)
        .order_by("last_name")
    ) == ["New10", "New4400"]


def test_a_running_import_reports_progress_from_its_file(tmp_path: Path) -> None:
    from navid.customers.selectors import import_job_with_progress

    job = ImportJob.objects.create(file_name="p.csv", stored_path="/nonexistent", state="running")
    assert (import_job_with_progress(job).rows_done, job.rows_total) == (0, 0)
    job.progress_path.parent.mkdir(parents=True, exist_ok=True)
    job.progress_path.write_text('{"done": 4000, "total": 10000}')
    try:
        job = import_job_with_progress(job)
        assert (job.rows_done, job.rows_total, job.percent) == (4000, 10000, 40)
    finally:
        job.progress_path.unlink()


_CELLS = st.sampled_from(
    [
        "",
        " ",
        "Ali",
        "علي",
        "=cmd|x",
        "customer",
        "prospect",
        "organisation",
        "tehran",
        "nowhere",
        "0012345679",
        "0012345678",
        "09121234567",
        "12",
        "a@example.com",
        "not-an-email",
        "1403/01/01",
        "2023-02-30",
        "yes",
        "perhaps",
        "vanak",
        "x" * 600,
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELLS, min_size=6, max_size=6), min_size=1, max_size=12))
def test_column_validation_equals_the_single_path_row_by_row(places: None, rows: list[list[str]]) -> None:
    from navid.customers.importing import RowValidator, _flatten
    from navid.customers.validation import ReferenceResolver, clean_customer_values, customer_search_text

    names = ["first_name", "kind", "status", "region", "national_id", "email"]
    names2 = ["phone", "birth_date", "do_not_contact", "branch", "last_name", "organisation_name"]
    for fields in (names, names2):
        positions = list(enumerate(fields))
        resolver = ReferenceResolver()
        batch = [(number, cells) for number, cells in enumerate(rows, start=2)]
        got = RowValidator(positions, resolver, "IR").validate(batch)
        for (number, cells), (got_number, clean, errors) in zip(batch, got, strict=True):
            values = {name: cell for name, cell in zip(fields, cells, strict=True) if cell.strip()}
            try:
                expected = _flatten(clean_customer_values(values, resolver=resolver, default_region="IR"))
            except ValidationFailed as exc:
                assert (got_number, clean, errors) == (number, None, exc.errors)
            else:
                expected["search_text"] = customer_search_text(expected)
                assert (got_number, clean, errors) == (number, expected, None)
