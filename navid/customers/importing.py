"""Import of customer files (R1.4): CSV or XLSX, UTF-8 or Windows-1256, checked in full before anything is written.

The check reads and validates every row, looks up which rows update existing customers, and
reports progress as it goes. The rows it passes are written in one transaction: by a writer
process while the check goes on (ProcessSink), or, inside a caller's own transaction, after the
check from a spool file (SpoolSink). Nothing is committed before the whole file has been checked:
a dry run stops after the check, and in all-or-nothing mode one rejected row rolls the write back.
"""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import audit_record
from navid.core.errors import ValidationFailed
from navid.core.text import search_key
from navid.customers.models import ConversionEvent, Customer, ImportJob, PartyStatus
from navid.customers.validation import (
    CUSTOMER_FIELDS,
    ReferenceResolver,
    check_customer_record,
    clean_field,
    customer_search_text,
)

CHUNK = 2000
PROCESS_WRITER_BYTES = 2 * 1024 * 1024  # files from this size on are written by a writer process (ADR 0007)
_COPY_ROWS = 100_000  # rows sent in one COPY on PostgreSQL; its foreign keys are checked when it ends
MAX_ERRORS_KEPT = 10_000
MAX_FIELD = 10 * 1024 * 1024 + 1
csv.field_size_limit(MAX_FIELD * 2)

# Column names a bank's spreadsheet may already use, in fa, ru and en, for each field.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external id", "customer number", "شماره مشتری", "کد مشتری", "номер клиента"),
    "kind": ("type of party", "نوع شخص", "тип лица"),
    "status": ("وضعیت مشتری", "статус клиента"),
    "first_name": ("first name", "name", "نام", "имя"),
    "last_name": ("last name", "surname", "family name", "نام خانوادگی", "фамилия"),
    "organisation_name": ("organisation", "organization", "company", "نام سازمان", "شرکت", "организация"),
    "national_id": ("national id", "national code", "inn", "کد ملی", "شناسه ملی", "инн"),
    "birth_date": ("birth date", "date of birth", "تاریخ تولد", "дата рождения"),
    "phone": ("phone", "mobile", "تلفن", "موبایل", "تلفن همراه", "телефон", "мобильный"),
    "email": ("email", "e-mail", "ایمیل", "پست الکترونیک", "эл. почта", "почта"),
    "address": ("address", "نشانی", "آدرس", "адрес"),
    "city": ("city", "شهر", "город"),
    "postal_code": ("postal code", "zip", "کد پستی", "индекс"),
    "region": ("region", "province", "استان", "منطقه", "регион"),
    "branch": ("branch", "شعبه", "филиал"),
    "relationship_manager": ("relationship manager", "مدیر ارتباط", "менеджер"),
    "language": ("language", "زبان", "язык"),
    "preferred_channel": ("preferred channel", "کانال ترجیحی", "канал"),
    "prospect_type": ("prospect type", "نوع مشتری بالقوه", "тип потенциального клиента"),
    "prospect_rank": ("prospect rank", "rank", "رتبه", "رتبه مشتری بالقوه", "ранг"),
    "prospect_status": ("prospect status", "وضعیت مشتری بالقوه", "статус потенциального клиента"),
    "industry": ("industry", "field of activity", "زمینه فعالیت", "отрасль"),
    "do_not_contact": ("do not contact", "عدم تماس", "не беспокоить"),
    "customer_since": ("customer since", "مشتری از", "клиент с"),
}
NAME_FIELDS = ("last_name", "first_name", "organisation_name")


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong format, encoding, delimiter or columns."""


@dataclass
class RowError:
    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class Table:
    """A file opened for reading: its header and an iterator of (row number, cells)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""
    # How much of the file has been read, from 0 to 1, for an estimate of the total while reading.
    read_fraction: Callable[[], float] = lambda: 0.0


def _detect_encoding(sample: bytes) -> str:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut at the end of the sample may split one multi-byte character.
        if exc.start < len(sample) - 4:
            return "cp1256"
    return "utf-8-sig"


def _open_csv(stream: BinaryIO, encoding: str | None) -> Table:
    sample = stream.read(65536)
    stream.seek(0)
    encoding = encoding or _detect_encoding(sample)
    first_line = sample.decode(encoding, errors="replace").splitlines()[0] if sample else ""
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=counts.__getitem__)
    if counts[delimiter] == 0:
        delimiter = ","
    label = "utf-8" if encoding == "utf-8-sig" else encoding
    size = max(1, stream.seek(0, 2))
    stream.seek(0)
    consumed = [0]

    def lines() -> Iterator[str]:
        # A newline byte never occurs inside a UTF-8 or Windows-1256 character, so lines can be decoded one by one
        # and a decoding error named by its line.
        for number, raw in enumerate(stream, start=1):
            consumed[0] += len(raw)
            try:
                yield raw.decode(encoding if number == 1 else label)
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    _("Line %(line)s: the file is not valid %(encoding)s text.")
                    % {"line": number, "encoding": label}
                ) from exc

    reader = csv.reader(lines(), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ImportFileError(_("The file is empty.")) from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(
                    _("Row %(row)s: %(reason)s") % {"row": number + 1, "reason": exc}
                ) from exc
            number += 1
            joined = "".join(cells)
            if joined and not joined.isspace():  # a row of empty cells is skipped
                yield number, cells

    return Table(
        header=header,
        rows=rows(),
        encoding=encoding,
        delimiter=delimiter,
        read_fraction=lambda: consumed[0] / size,
    )


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("The file is not a readable XLSX workbook.")) from exc
    if not workbook.worksheets:
        raise ImportFileError(_("The workbook has no sheets."))
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [_xlsx_cell(v) for v in next(values)]
    except StopIteration as exc:
        raise ImportFileError(_("The file is empty.")) from exc

    position = [1]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, raw in enumerate(values, start=2):
            position[0] = number
            cells = [_xlsx_cell(v) for v in raw]
            if any(c.strip() for c in cells):
                yield number, cells
        workbook.close()

    last_row = max(1, sheet.max_row or 1)
    return Table(
        header=header,
        rows=rows(),
        encoding="xlsx",
        delimiter="",
        read_fraction=lambda: position[0] / last_row,
    )


def open_table(path: Path, *, encoding: str | None = None) -> Table:
    """Open a CSV or XLSX file; raise ImportFileError with a reason a person can act on."""
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic == b"PK\x03\x04":
        return _open_xlsx(path)
    if path.suffix.lower() in {".xls", ".xlsm", ".xlsx"}:
        raise ImportFileError(_("Only CSV and XLSX files can be imported; save the sheet as XLSX or CSV."))
    return _open_csv(path.open("rb"), encoding)


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Map each column a field is recognised in, by field name or a known alias."""
    lookup: dict[str, str] = {}
    for name in CUSTOMER_FIELDS:
        lookup[search_key(name)] = name
        lookup[search_key(name.replace("_", " "))] = name
        for alias in HEADER_ALIASES.get(name, ()):
            lookup[search_key(alias)] = name
    mapping: dict[str, str] = {}
    for column in header:
        target = lookup.get(search_key(column.replace("_", " "))) or lookup.get(search_key(column))
        if target and target not in mapping.values():
            mapping[column] = target
    return mapping


def check_mapping(header: list[str], mapping: dict[str, str], delimiter: str) -> None:
    """Raise ImportFileError if a mapped column is missing or no name column is mapped."""
    unknown = [c for c in mapping if c not in header]
    if unknown:
        raise ImportFileError(_("Columns not in the file: %(cols)s") % {"cols": ", ".join(unknown)})
    bad_fields = [f for f in mapping.values() if f not in CUSTOMER_FIELDS]
    if bad_fields:
        raise ImportFileError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(bad_fields)})
    targets = list(mapping.values())
    repeated = sorted({f for f in targets if targets.count(f) > 1})
    if repeated:
        raise ImportFileError(
            _("More than one column is mapped to: %(fields)s") % {"fields": ", ".join(repeated)}
        )
    if not any(f in mapping.values() for f in NAME_FIELDS):
        hint = ""
        if len(header) == 1 and delimiter:
            hint = " " + _(
                "The file has a single column: is it separated by something other than “%(d)s”?"
            ) % {"d": delimiter}
        raise ImportFileError(
            _("Required column missing: one of %(cols)s.") % {"cols": ", ".join(NAME_FIELDS)} + hint
        )


@dataclass
class _Chunk:
    inserts: list[tuple[Any, ...]] = field(default_factory=list)  # values of _INSERT_COLUMNS
    updates: list[tuple[int, dict[str, Any], dict[str, list[Any]], bool]] = field(default_factory=list)


@dataclass
class ImportOutcome:
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected_rows: int = 0
    written: bool = False


_DB_FIELDS = list(CUSTOMER_FIELDS)
_REF_ATTNAMES = {
    "region": "region_id",
    "branch": "branch_id",
    "relationship_manager": "relationship_manager_id",
    "prospect_type": "prospect_type_id",
    "prospect_rank": "prospect_rank_id",
    "prospect_status": "prospect_status_id",
    "industry": "industry_id",
}
_DEFAULTS: dict[str, Any] = {
    **{
        name: ""
        for name in (
            "first_name",
            "last_name",
            "organisation_name",
            "phone",
            "email",
            "address",
            "city",
            "postal_code",
            "preferred_channel",
        )
    },
    "kind": "person",
    "status": "prospect",
    "language": "fa",
    "do_not_contact": False,
}


_DB_COLUMNS = [_REF_ATTNAMES.get(f, f) for f in _DB_FIELDS]
# The columns a new customer's row is checked into, in order; the writer adds the times and the import.
_INSERT_COLUMNS = (*_DB_COLUMNS, "search_text")


def _flatten(clean: dict[str, Any]) -> dict[str, Any]:
    """Model instances to ids, under their column names."""
    return {
        _REF_ATTNAMES.get(k, k): (v.pk if k in _REF_ATTNAMES and v is not None else v)
        for k, v in clean.items()
    }


RowResult = tuple[int, dict[str, Any] | None, dict[str, list[str]] | None]
# A cell after cleaning: None when empty (not given), else (True, value) or (False, the reason it was refused).
_Cell = tuple[bool, Any] | None
# Fields whose values repeat down a file (lists, names, dates): each distinct value is cleaned once per import.
_REPEATING = frozenset(CUSTOMER_FIELDS) - {"external_id", "national_id", "phone", "email", "address"}
_MEMO_LIMIT = 50_000


class RowValidator:
    """Validates chunks of rows column by column with the rules of validation.py.

    The result is the same as `clean_customer_values` on each row (a test checks it); working a column at a
    time lets a value that repeats, such as a region, a status or a common first name, be cleaned only once.
    """

    def __init__(self, positions: list[tuple[int, str]], resolver: ReferenceResolver, region: str) -> None:
        self.positions = positions
        self.resolver = resolver
        self.region = region
        self.memos: dict[str, dict[str, tuple[bool, Any]]] = {
            name: {} for _, name in positions if name in _REPEATING
        }

    def _column(self, batch: list[tuple[int, list[str]]], index: int, name: str) -> list[_Cell]:
        memo = self.memos.get(name)
        resolver, region = self.resolver, self.region
        cells: list[_Cell] = []
        for _number, row in batch:
            raw = row[index] if index < len(row) else ""
            if not raw or raw.isspace():
                cells.append(None)  # an empty cell means "not given"
                continue
            if memo is not None and (known := memo.get(raw)) is not None:
                cells.append(known)
                continue
            result: tuple[bool, Any]
            try:
                result = (True, clean_field(name, raw, resolver, region))
            except ValueError as exc:
                result = (False, str(exc))
            if memo is not None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[raw] = result
            cells.append(result)
        return cells

    def validate(self, batch: list[tuple[int, list[str]]]) -> list[RowResult]:
        """(row number, clean columns or None, errors or None) for each row, without touching the database."""
        columns = [(name, self._column(batch, index, name)) for index, name in self.positions]
        results: list[RowResult] = []
        for position, (number, _row) in enumerate(batch):
            out: dict[str, Any] = {}
            errors: dict[str, list[str]] = {}
            for name, column in columns:
                cell = column[position]
                if cell is not None:
                    if cell[0]:
                        out[name] = cell[1]
                    else:
                        errors[name] = [cell[1]]
            try:
                clean = check_customer_record(out, errors)
            except ValidationFailed as exc:
                results.append((number, None, exc.errors))
                continue
            flat = _flatten(clean)
            flat["search_text"] = customer_search_text(flat)
            results.append((number, flat, None))
        return results


def _ids_with(keys: dict[str, list[str]]) -> list[int]:
    """Ids of customers whose column (external_id, national_id) holds one of its values: one plain query, as
    most files match few customers or none."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    conditions: list[str] = []
    params: list[Any] = []
    for column, values in keys.items():
        if not values:
            continue
        if connection.vendor == "postgresql":
            # One text parameter split by the server: a query with thousands of placeholders cost the driver more
            # than the server, and so did quoting an array's items one by one. Cleaned values hold no control
            # characters, so the unit separator cannot occur in them.
            conditions.append(f"{connection.ops.quote_name(column)} = ANY(string_to_array(%s, chr(31)))")
            params.append("\x1f".join(values))
        else:
            conditions.append(f"{connection.ops.quote_name(column)} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
    if not conditions:
        return []
    with connection.wrap_database_errors, connection.cursor() as cursor:
        # The driver's own cursor: with DEBUG on, Django's wrapper would format every value of the query for its
        # log, which cost more than the query.
        cursor.cursor.execute(f"SELECT id FROM {table} WHERE {' OR '.join(conditions)}", params)  # noqa: S608
        return [row[0] for row in cursor.cursor.fetchall()]


@contextmanager
def _index_lookups() -> Iterator[None]:
    """On PostgreSQL, look a chunk's customers up through the indexes.

    A table filled from empty still has the statistics of an empty table, so the planner scans it whole for
    every chunk, while another connection's import is growing it (measured: 21 ms a chunk instead of 1 ms).
    """
    if connection.vendor != "postgresql":
        yield  # SQLite: a transaction here would wait for the writer's lock
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        yield
        # Inside a caller's transaction this block is a savepoint, whose release would keep the setting.
        cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")


class CustomerImporter:
    """Runs the two passes over one file for one ImportJob."""

    def __init__(self, job: ImportJob, *, progress: Callable[[int, int], None] | None = None):
        self.job = job
        self.progress = progress
        self.resolver = ReferenceResolver()
        self.region = settings.NAVID_DEFAULT_PHONE_REGION
        self.mapping: dict[str, str] = {}

    def _resolve_chunk(
        self,
        results: list[RowResult],
        outcome: ImportOutcome,
        seen_external: dict[str, int],
        seen_national: dict[str, int],
    ) -> _Chunk:
        """Turn validated rows into inserts and updates: in-file repeats and database matches are decided here."""
        cleaned: list[tuple[int, dict[str, Any]]] = []
        for number, clean, errors in results:
            if clean is None:
                self._reject(outcome, number, errors or {})
                continue
            problems: dict[str, list[str]] = {}
            for key, seen in (("external_id", seen_external), ("national_id", seen_national)):
                value = clean.get(key)
                if value:
                    if value in seen:
                        problems[key] = [_("repeats row %(row)s of this file") % {"row": seen[value]}]
                    else:
                        seen[value] = number
            if problems:
                self._reject(outcome, number, problems)
                continue
            cleaned.append((number, clean))
        chunk = _Chunk()
        if not cleaned:
            return chunk
        today = timezone.localdate()
        externals = [c["external_id"] for _, c in cleaned if c.get("external_id")]
        nationals = [c["national_id"] for _, c in cleaned if c.get("national_id")]
        columns = list(dict.fromkeys(["id", "external_id", "national_id", "status", *_DB_COLUMNS]))
        by_external: dict[str, dict[str, Any]] = {}
        by_national: dict[str, dict[str, Any]] = {}
        with _index_lookups():
            ids = _ids_with({"external_id": externals, "national_id": nationals})
            found = list(Customer.objects.filter(id__in=ids).values(*columns, "deleted_at")) if ids else []
        wanted_external, wanted_national = set(externals), set(nationals)
        for record in found:
            if record["external_id"] in wanted_external and record["deleted_at"] is None:
                by_external[record["external_id"]] = record
            if record["national_id"] in wanted_national:
                # Trashed records keep their national ID: a new row must not reuse it silently.
                by_national[record["national_id"]] = record
        for number, clean in cleaned:
            ext, nat = clean.get("external_id"), clean.get("national_id")
            target = by_external.get(ext) if ext else None
            holder = by_national.get(nat) if nat else None
            if holder is not None and holder.get("deleted_at") is not None:
                self._reject(outcome, number, {"national_id": [_("belongs to a customer in the trash")]})
                continue
            if target is None and holder is not None:
                if ext and holder["external_id"] and holder["external_id"] != ext:
                    self._reject(
                        outcome,
                        number,
                        {"national_id": [_("belongs to customer %(id)s") % {"id": holder["external_id"]}]},
                    )
                    continue
                target = holder
            elif target is not None and holder is not None and holder["id"] != target["id"]:
                self._reject(
                    outcome,
                    number,
                    {"national_id": [_("belongs to another customer (ID %(id)s)") % {"id": holder["id"]}]},
                )
                continue
            if target is None:
                row = {**_DEFAULTS, **clean}
                if row["status"] == PartyStatus.CUSTOMER and not row.get("customer_since"):
                    row["customer_since"] = today
                # A tuple in the order of _INSERT_COLUMNS: it crosses to the writer process at half the cost of a dict.
                chunk.inserts.append(tuple(map(row.get, _INSERT_COLUMNS)))
            else:
                del clean["search_text"]
                changes = {k: [target.get(k), v] for k, v in clean.items() if target.get(k) != v}
                merged = {**target, **clean}
                converted = (
                    target["status"] == PartyStatus.PROSPECT and merged["status"] == PartyStatus.CUSTOMER
                )
                if converted and not merged.get("customer_since"):
                    clean["customer_since"] = today
                clean["search_text"] = customer_search_text(merged)
                chunk.updates.append((target["id"], clean, changes, converted))
        outcome.created += len(chunk.inserts)
        outcome.updated += len(chunk.updates)
        return chunk

    def _reject(self, outcome: ImportOutcome, number: int, errors: dict[str, list[str]]) -> None:
        outcome.rejected_rows += 1
        column_of = {v: k for k, v in self.mapping.items()}
        for name, reasons in errors.items():
            for reason in reasons:
                if len(outcome.errors) < MAX_ERRORS_KEPT:
                    outcome.errors.append(RowError(number, column_of.get(name, name), reason))

    def _batches(self, table: Table, outcome: ImportOutcome) -> Iterator[list[tuple[int, list[str]]]]:
        width = len(table.header)
        batch: list[tuple[int, list[str]]] = []
        for number, cells in table.rows:
            outcome.rows_total += 1
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                self._reject(outcome, number, {"*": [_("has more cells than the header has columns")]})
                continue
            batch.append((number, cells))
            if len(batch) >= CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch

    def check(self, table: Table, mapping: dict[str, str], sink: ChunkSink | None = None) -> ImportOutcome:
        """Validate every row; hand the checked chunks to `sink` for as long as they may be written."""
        self.mapping = mapping
        check_mapping(table.header, mapping, table.delimiter)
        positions = [(table.header.index(col), name) for col, name in mapping.items()]
        outcome = ImportOutcome()
        validator = RowValidator(positions, self.resolver, self.region)
        seen_external: dict[str, int] = {}
        seen_national: dict[str, int] = {}
        for batch in self._batches(table, outcome):
            results = validator.validate(batch)
            chunk = self._resolve_chunk(results, outcome, seen_external, seen_national)
            if sink is not None and outcome.rejected_rows and not self.job.skip_invalid:
                sink.abandon()  # all or nothing: nothing of this file will be written, so stop writing now
                sink = None
            if sink is not None and (chunk.inserts or chunk.updates):
                sink.put(chunk)
            if self.progress:
                fraction = table.read_fraction()
                estimate = int(outcome.rows_total / fraction) if fraction > 0 else outcome.rows_total
                self.progress(outcome.rows_total, max(estimate, outcome.rows_total))
        if self.progress:
            self.progress(outcome.rows_total, outcome.rows_total)
        return outcome


_PG_WRITE_SETTINGS = ("gin_pending_list_limit", "work_mem", "enable_seqscan")


class _WriteSession:
    """Writes checked chunks into the open transaction of one connection."""

    def __init__(self, job: ImportJob, cursor: Any) -> None:
        self.job = job
        self.cursor = cursor
        self.now = timezone.now()
        # The time as the database stores it, converted once rather than by the driver for every row.
        self.stamp = connection.ops.adapt_datetimefield_value(self.now)
        self.table = connection.ops.quote_name(Customer._meta.db_table)
        self.insert_cols = [*_INSERT_COLUMNS, "created_at", "updated_at", "created_by_import_id"]
        self.conversions = connection.ops.quote_name(ConversionEvent._meta.db_table)
        self.note = job.file_name[:300]
        self.converted_ids: list[int] = []
        self.audit_rows: list[tuple[int, dict[str, list[Any]]]] = []
        self.vendor = cursor.db.vendor
        self.search_trigger = ""
        self.copy_stack = ExitStack()
        self.copy: Any = None
        self.copy_rows = 0
        if self.vendor == "sqlite":
            # The search index of imported rows is built a chunk at a time (_complete_inserted). The per-row insert
            # trigger costs about as much as the insert itself even when its WHEN clause skips the row, so it is
            # dropped for the length of this transaction and created again before the commit (a rollback restores
            # it).
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'customer_search_ai'"
            )
            found = cursor.fetchone()
            if found:
                self.search_trigger = found[0]
                cursor.execute("DROP TRIGGER customer_search_ai")
        elif self.vendor == "postgresql":
            # The trigram index of the search text costs the server about three quarters of a row's time when
            # rows arrive one by one; kept in the index's pending list and merged in sorted batches, the same rows
            # cost it about a third less. A list of 64 MB is merged several times while the import goes on,
            # where one of 1 GB was merged once at the end, for 5 s with nothing else to do (docs/benchmarks.md).
            # Every setting made here is put back in finish() (_PG_WRITE_SETTINGS).
            cursor.execute("SET LOCAL gin_pending_list_limit = '64MB'")
            # A merge started by an insert gathers the list's entries in work_mem; with the default 4 MB it wrote
            # into the index some sixteen times per merge instead of once.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # The foreign keys are deferred to the commit, where a million rows' checks ran one after another
            # for 12 s with nothing else to do; checked after each chunk, they run while the next is checked.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # The rows of each COPY are completed by id range (_complete_inserted); a table filled from empty
            # keeps the statistics of an empty table, with which the planner would scan it whole every time.
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {self.table}")  # noqa: S608 - names are ours
        self.completed_up_to: int = cursor.fetchone()[0]

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        fixed = (self.stamp, self.stamp, self.job.pk)
        values = [row + fixed for row in rows]
        columns = ", ".join(connection.ops.quote_name(c) for c in self.insert_cols)
        if self.vendor == "postgresql":
            # COPY costs a PostgreSQL server less than half of what INSERTs of the same rows cost. One COPY runs
            # across many chunks, so that the server stores rows while this process is still formatting the
            # next ones; a COPY per chunk made each wait for the other.
            if self.copy is None:
                self.copy = self.copy_stack.enter_context(
                    self.cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN")
                )
            for value in values:
                self.copy.write_row(value)
            self.copy_rows += len(values)
            if self.copy_rows >= _COPY_ROWS:
                self._end_copy()
            return
        placeholders = ", ".join(["%s"] * len(self.insert_cols))
        insert = f"INSERT INTO {self.table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names are ours
        self.cursor.cursor.executemany(insert, values)

    def _end_copy(self) -> None:
        """End the COPY in progress, if any: the server then checks the foreign keys of its rows."""
        if self.copy is None:
            return
        self.copy_stack.close()
        self.copy, self.copy_rows = None, 0
        self._complete_inserted()

    def __enter__(self) -> _WriteSession:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # On an error, a COPY in progress is cancelled with it, so that the rollback can run.
        self.copy_stack.__exit__(*exc_info)

    def _complete_inserted(self) -> None:
        """Complete the rows this import inserted since the last call: their conversion events and, on SQLite,
        their place in the search index (whose insert trigger is off).

        Called after each chunk on SQLite and after each COPY on PostgreSQL, so that this work is done while
        the importing process checks the next rows, not all at the end.
        """
        raw = self.cursor.cursor
        mark = [self.completed_up_to, self.job.pk]
        if self.vendor == "sqlite":
            raw.execute(
                f"INSERT INTO customer_search(rowid, search_text) SELECT id, search_text FROM {self.table} "  # noqa: S608
                "WHERE id > %s AND created_by_import_id = %s",
                mark,
            )
        raw.execute(
            f"INSERT INTO {self.conversions} (customer_id, occurred_at, source, actor_id, note) "  # noqa: S608
            f"SELECT id, %s, %s, %s, %s FROM {self.table} WHERE id > %s AND created_by_import_id = %s AND status = %s",
            [
                self.stamp,
                ConversionEvent.Source.IMPORT,
                self.job.actor_id,
                self.note,
                *mark,
                PartyStatus.CUSTOMER,
            ],
        )
        if self.vendor == "postgresql":
            # This session's last id from the sequence: the last of its own rows, whatever other sessions insert.
            raw.execute("SELECT currval(pg_get_serial_sequence(%s, 'id'))", [Customer._meta.db_table])
        else:
            # This transaction holds SQLite's only write lock: the last row is this import's.
            raw.execute(f"SELECT max(id) FROM {self.table}")  # noqa: S608 - names are ours
        self.completed_up_to = raw.fetchone()[0]

    def write(self, chunk: _Chunk) -> None:
        if chunk.inserts:
            self._insert(chunk.inserts)
            if self.vendor == "sqlite":
                self._complete_inserted()
        if chunk.updates:
            self._end_copy()
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for pk, clean, changes, converted in chunk.updates:
            cols = tuple(sorted(clean))
            by_columns.setdefault(cols, []).append((*[clean[c] for c in cols], self.stamp, pk))
            if converted:
                self.converted_ids.append(pk)
            if changes:
                self.audit_rows.append((pk, changes))
        for cols, params in by_columns.items():
            assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in (*cols, "updated_at"))
            self.cursor.executemany(f"UPDATE {self.table} SET {assignments} WHERE id = %s", params)  # noqa: S608

    def finish(self, outcome: ImportOutcome) -> None:
        self._end_copy()
        cursor = self.cursor
        if self.vendor == "sqlite":
            if self.search_trigger:
                cursor.execute(self.search_trigger)
        elif self.vendor == "postgresql":
            cursor.execute(
                "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
                "WHERE i.indrelid = %s::regclass AND a.amname = 'gin'",
                [Customer._meta.db_table],
            )
        self._write_conversions()
        self._write_audit()
        audit_record(
            actor=self.job.actor,
            action=AuditAction.IMPORT,
            instance=self.job,
            before=None,
            after={"file": self.job.file_name, "created": outcome.created, "updated": outcome.updated},
        )
        if self.vendor == "postgresql":
            # Inside a caller's transaction (SpoolSink), the write's settings must not outlive the write.
            # Navid's foreign keys are all created initially deferred.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for name in _PG_WRITE_SETTINGS:
                cursor.execute(f"SET LOCAL {name} TO DEFAULT")

    def _write_conversions(self) -> None:
        """Conversion events of the prospects this import turned into customers (new customers have theirs)."""
        if self.converted_ids:
            self.cursor.executemany(
                f"INSERT INTO {self.conversions} (customer_id, occurred_at, source, actor_id, note) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (pk, self.stamp, ConversionEvent.Source.IMPORT, self.job.actor_id, self.note)
                    for pk in self.converted_ids
                ],
            )

    def _write_audit(self) -> None:
        from navid.accounts.models import AuditEntry

        label = Customer._meta.label_lower
        entries = [
            AuditEntry(
                at=self.now,
                actor_id=self.job.actor_id,
                action=AuditAction.UPDATE,
                model=label,
                object_id=str(pk),
                object_repr=_("import %(file)s") % {"file": self.job.file_name[:150]},
                record_model=label,
                record_id=str(pk),
                changes={k: [_json(v[0]), _json(v[1])] for k, v in changes.items()},
            )
            for pk, changes in self.audit_rows
        ]
        AuditEntry.objects.using(self.cursor.db.alias).bulk_create(entries, batch_size=1000)


@contextmanager
def _write_transaction(job: ImportJob) -> Iterator[_WriteSession]:
    """One transaction of this connection for the whole write; errors of the driver's own cursor come out as
    Django's (an IntegrityError as django.db.IntegrityError)."""
    with (
        transaction.atomic(),
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        _WriteSession(job, cursor) as session,
    ):
        yield session


class ChunkSink:
    """Where the check pass sends chunks that may be written; `finish` commits them all or nothing."""

    def put(self, chunk: _Chunk) -> None:
        raise NotImplementedError

    def abandon(self) -> None:
        """Nothing will be committed: drop what was sent so far."""
        raise NotImplementedError

    def finish(self, outcome: ImportOutcome) -> bool:
        """Commit everything sent, unless abandoned; True if it was written."""
        raise NotImplementedError


class SpoolSink(ChunkSink):
    """Keeps the chunks in a temporary file and writes them after the check, in the caller's connection.

    Used inside an outer transaction (a test, or a caller's own atomic block), where a second connection
    could not see the caller's uncommitted rows, and for files too small to be worth a writer process.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.spool: BinaryIO = tempfile.TemporaryFile(dir=settings.VAR_DIR)  # noqa: SIM115 - closed in finish
        self.abandoned = False

    def put(self, chunk: _Chunk) -> None:
        pickle.dump(chunk, self.spool)

    def abandon(self) -> None:
        self.abandoned = True
        self.spool.close()

    def finish(self, outcome: ImportOutcome) -> bool:
        try:
            if self.abandoned:
                return False
            self.spool.seek(0)
            with _write_transaction(self.job) as session:
                while True:
                    try:
                        chunk: _Chunk = pickle.load(self.spool)  # noqa: S301 - our own spool file
                    except EOFError:
                        break
                    session.write(chunk)
                session.finish(outcome)
            return True
        finally:
            self.spool.close()


class _Abandoned(Exception):
    """Raised inside the writer's transaction to roll it back."""


# Messages from the importing process to its writer: ("job", job id, database name), then ("chunk", _Chunk) for
# each chunk, then ("commit", ImportOutcome) or ("abandon",). The writer answers once, when it is done: ("written",),
# ("abandoned",), ("integrity", message) or ("error", traceback).
_QUEUED_CHUNKS = 64  # about 40 MB of pickled rows: enough to go on checking while the writer process starts


class ProcessSink(ChunkSink):
    """Writes chunks while the check goes on: a child process with its own connection and one transaction.

    The check and the write each keep a core busy. As two threads of one process they took turns on the
    interpreter lock: a million rows took the sum of the two (49 s), where two processes take the longer one.
    A feeder thread pickles the chunks into the child's pipe, so that the check need not wait for the child
    to start or for each chunk to be written.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.child = (
            subprocess.Popen(  # it inherits this process's environment, DJANGO_SETTINGS_MODULE included
                [sys.executable, "-m", "navid.customers.import_writer"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        )
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=_QUEUED_CHUNKS)
        self.feeder = threading.Thread(target=self._feed, name=f"import-{job.pk}-feeder", daemon=True)
        self.feeder.start()
        self.ended = False
        self._send(("job", job.pk, connection.settings_dict["NAME"]))

    def _feed(self) -> None:
        stdin = self.child.stdin
        assert stdin is not None  # opened with a pipe above
        try:
            while True:
                item = self.queue.get()
                pickle.dump(item, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                if item[0] in {"commit", "abandon"}:
                    break
            stdin.close()
        except OSError:
            return  # the child has gone: finish() reports how it ended

    def _send(self, item: tuple[Any, ...]) -> None:
        while self.feeder.is_alive():
            try:
                self.queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            return

    def put(self, chunk: _Chunk) -> None:
        self._send(("chunk", chunk))

    def _answer(self) -> tuple[Any, ...]:
        self.ended = True
        self.feeder.join()
        stdout = self.child.stdout
        assert stdout is not None  # opened with a pipe above
        try:
            answer: tuple[Any, ...] = pickle.load(stdout)  # noqa: S301 - our own child process
        except (EOFError, pickle.UnpicklingError):
            answer = ("gone",)
        finally:
            stdout.close()
            code = self.child.wait()
        if answer[0] == "gone":
            raise RuntimeError(
                f"The import's writer process stopped (exit code {code}); nothing was committed."
            )
        return answer

    def abandon(self) -> None:
        if self.ended:
            return  # abandoned already, when the check found the first bad row
        self._send(("abandon",))
        self._answer()

    def finish(self, outcome: ImportOutcome) -> bool:
        self._send(("commit", outcome))
        answer = self._answer()
        if answer[0] == "integrity":
            raise IntegrityError(answer[1])
        if answer[0] == "error":
            raise RuntimeError(f"The import's writer process failed:\n{answer[1]}")
        return bool(answer[0] == "written")


def _drain(stream: BinaryIO) -> None:
    """Read the importing process's messages to their end, so that it is never left blocked on a full pipe."""
    try:
        while pickle.load(stream)[0] not in {"commit", "abandon"}:  # noqa: S301 - from our parent process
            pass
    except EOFError:
        return


def serve_writer(stream: BinaryIO, answer: BinaryIO) -> None:
    """The writer process's work (python -m navid.customers.import_writer): write what `stream` sends."""
    _kind, job_pk, database = pickle.load(stream)  # noqa: S301 - from our parent process
    connection.settings_dict["NAME"] = database  # the parent's database, also when it is a test database
    result: tuple[Any, ...] = ("written",)
    try:
        job = ImportJob.objects.select_related("actor").get(pk=job_pk)
        with _write_transaction(job) as session:
            while True:
                item = pickle.load(stream)  # noqa: S301 - an EOFError (the parent has gone) rolls back
                if item[0] == "chunk":
                    session.write(item[1])
                elif item[0] == "commit":
                    session.finish(item[1])
                    break
                else:
                    raise _Abandoned
    except _Abandoned:
        result = ("abandoned",)
    except IntegrityError as exc:
        result = ("integrity", str(exc))
        _drain(stream)
    except Exception:  # handed to the importing process, which raises it
        result = ("error", traceback.format_exc())
        _drain(stream)
    finally:
        connection.close()
    pickle.dump(result, answer)
    answer.flush()


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def import_run(*, job: ImportJob, progress: Callable[[int, int], None] | None = None) -> ImportOutcome:
    """Check the job's file and, unless it is a dry run or rows were rejected in all-or-nothing mode, write it."""
    path = Path(job.stored_path)
    table = open_table(path)
    mapping = job.mapping or guess_mapping(table.header)
    importer = CustomerImporter(job, progress=progress)
    if job.dry_run:
        return importer.check(table, mapping)
    # A writer process takes about 2 s to start; a file smaller than this is checked and written in less.
    small = path.stat().st_size < PROCESS_WRITER_BYTES
    sink: ChunkSink = SpoolSink(job) if connection.in_atomic_block or small else ProcessSink(job)
    try:
        outcome = importer.check(table, mapping, sink)
    except BaseException:
        sink.abandon()
        raise
    if outcome.rejected_rows and not job.skip_invalid:
        sink.abandon()
        return outcome
    try:
        outcome.written = sink.finish(outcome)
    except IntegrityError as exc:
        raise ImportFileError(
            _(
                "Another change to the same customers was made during the import; nothing was imported. Run it again."
            )
        ) from exc
    return outcome
