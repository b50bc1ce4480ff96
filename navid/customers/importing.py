"""Import of customer files (R1.4): CSV or XLSX, UTF-8 or Windows-1256, checked in full before anything is written.

Pass 1 reads and validates every row, looks up which rows update existing customers, and
writes the clean rows to a spool file; it commits nothing and reports progress as it goes.
Pass 2 writes the spooled rows in one transaction. A dry run stops after pass 1. In
all-or-nothing mode one rejected row means pass 2 never runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import queue
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
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
            if cells and any(c.strip() for c in cells):
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
    inserts: list[dict[str, Any]] = field(default_factory=list)
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


def _ids_with(column: str, values: list[str]) -> list[int]:
    """Ids of customers whose `column` is one of `values`: one plain query, as most files match few or none."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE {connection.ops.quote_name(column)} IN ({placeholders})",  # noqa: S608 - names are ours
            values,
        )
        return [row[0] for row in cursor.fetchall()]


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
        externals = [c["external_id"] for _, c in cleaned if c.get("external_id")]
        nationals = [c["national_id"] for _, c in cleaned if c.get("national_id")]
        columns = list(dict.fromkeys(["id", "external_id", "national_id", "status", *_DB_COLUMNS]))
        by_external: dict[str, dict[str, Any]] = {}
        by_national: dict[str, dict[str, Any]] = {}
        if externals and (ids := _ids_with("external_id", externals)):
            live = Customer.objects.filter(deleted_at__isnull=True, id__in=ids)
            by_external = {r["external_id"]: r for r in live.values(*columns)}
        if nationals and (ids := _ids_with("national_id", nationals)):
            # Trashed records keep their national ID: a new row must not reuse it silently.
            holders = Customer.objects.filter(id__in=ids).values(*columns, "deleted_at")
            by_national = {r["national_id"]: r for r in holders}
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
                    row["customer_since"] = timezone.localdate()
                chunk.inserts.append(row)
            else:
                del clean["search_text"]
                changes = {k: [target.get(k), v] for k, v in clean.items() if target.get(k) != v}
                merged = {**target, **clean}
                converted = (
                    target["status"] == PartyStatus.PROSPECT and merged["status"] == PartyStatus.CUSTOMER
                )
                if converted and not merged.get("customer_since"):
                    clean["customer_since"] = timezone.localdate()
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
        seen_external: dict[str, int] = {}
        seen_national: dict[str, int] = {}
        validator = RowValidator(positions, self.resolver, self.region)
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


class _WriteSession:
    """Writes checked chunks into the open transaction of one connection."""

    def __init__(self, job: ImportJob, cursor: Any) -> None:
        self.job = job
        self.cursor = cursor
        self.now = timezone.now()
        self.table = connection.ops.quote_name(Customer._meta.db_table)
        self.insert_cols = [
            *[_REF_ATTNAMES.get(f, f) for f in _DB_FIELDS],
            "search_text",
            "created_at",
            "updated_at",
            "created_by_import_id",
        ]
        self.converted_ids: list[int] = []
        self.audit_rows: list[tuple[int, dict[str, list[Any]]]] = []
        self.vendor = cursor.db.vendor
        self.search_trigger = ""
        if self.vendor == "sqlite":
            # The search index of imported rows is built in one statement at the end. The per-row insert trigger
            # costs about as much as the insert itself even when its WHEN clause skips the row, so it is dropped
            # for the length of this transaction and created again before the commit (a rollback restores it).
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'customer_search_ai'"
            )
            found = cursor.fetchone()
            if found:
                self.search_trigger = found[0]
                cursor.execute("DROP TRIGGER customer_search_ai")
        elif self.vendor == "postgresql":
            # The trigram index of the search text costs the server about three quarters of a row's time when
            # rows arrive one by one; kept in the index's pending list for this transaction and merged once at
            # the end, in sorted batches, the same rows cost it about a third less (docs/benchmarks.md).
            cursor.execute("SET LOCAL gin_pending_list_limit = '1GB'")

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        fixed = (self.now, self.now, self.job.pk)
        values = [(*[row.get(c) for c in self.insert_cols[:-3]], *fixed) for row in rows]
        columns = ", ".join(connection.ops.quote_name(c) for c in self.insert_cols)
        if self.vendor == "postgresql":
            # COPY costs a PostgreSQL server less than half of what INSERTs of the same rows cost.
            with self.cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
            return
        placeholders = ", ".join(["%s"] * len(self.insert_cols))
        self.cursor.executemany(f"INSERT INTO {self.table} ({columns}) VALUES ({placeholders})", values)  # noqa: S608 - names are ours

    def write(self, chunk: _Chunk) -> None:
        if chunk.inserts:
            self._insert(chunk.inserts)
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for pk, clean, changes, converted in chunk.updates:
            cols = tuple(sorted(clean))
            by_columns.setdefault(cols, []).append((*[clean[c] for c in cols], self.now, pk))
            if converted:
                self.converted_ids.append(pk)
            if changes:
                self.audit_rows.append((pk, changes))
        for cols, params in by_columns.items():
            assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in (*cols, "updated_at"))
            self.cursor.executemany(f"UPDATE {self.table} SET {assignments} WHERE id = %s", params)  # noqa: S608

    def finish(self, outcome: ImportOutcome) -> None:
        cursor = self.cursor
        if self.vendor == "sqlite":
            cursor.execute(
                f"INSERT INTO customer_search(rowid, search_text) SELECT id, search_text FROM {self.table} "  # noqa: S608
                "WHERE created_by_import_id = %s",
                [self.job.pk],
            )
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

    def _write_conversions(self) -> None:
        conv = connection.ops.quote_name(ConversionEvent._meta.db_table)
        note = self.job.file_name[:300]
        # New customers of this import: one conversion each, set-based.
        self.cursor.execute(
            f"INSERT INTO {conv} (customer_id, occurred_at, source, actor_id, note) "  # noqa: S608
            f"SELECT id, %s, %s, %s, %s FROM {self.table} WHERE created_by_import_id = %s AND status = %s",
            [self.now, ConversionEvent.Source.IMPORT, self.job.actor_id, note, self.job.pk, "customer"],
        )
        if self.converted_ids:
            self.cursor.executemany(
                f"INSERT INTO {conv} (customer_id, occurred_at, source, actor_id, note) VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
                [
                    (pk, self.now, ConversionEvent.Source.IMPORT, self.job.actor_id, note)
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
    could not see the caller's uncommitted rows.
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
            with transaction.atomic(), connection.cursor() as cursor:
                session = _WriteSession(self.job, cursor)
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


_COMMIT = object()
_ABANDON = object()


class _Abandoned(Exception):
    """Raised inside the writer's transaction to roll it back."""


class ThreadSink(ChunkSink):
    """Writes chunks while the check goes on: a thread with its own connection and one transaction.

    The writer spends most of its time in the database (SQLite's C code with the GIL released, or the
    PostgreSQL server), so the check and the write share the machine's cores instead of taking turns.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.queue: queue.Queue[object] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.written = False
        self.outcome: ImportOutcome | None = None
        self.thread = threading.Thread(target=self._run, name=f"import-{job.pk}-writer", daemon=True)
        self.thread.start()

    def _send(self, item: object) -> None:
        while self.thread.is_alive():
            try:
                self.queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            return

    def put(self, chunk: _Chunk) -> None:
        self._send(chunk)

    def abandon(self) -> None:
        self._send(_ABANDON)
        self.thread.join()

    def finish(self, outcome: ImportOutcome) -> bool:
        self.outcome = outcome
        self._send(_COMMIT)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.written

    def _run(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                session = _WriteSession(self.job, cursor)
                while True:
                    item = self.queue.get()
                    if item is _ABANDON:
                        raise _Abandoned
                    if item is _COMMIT:
                        break
                    if isinstance(item, _Chunk):
                        session.write(item)
                if self.outcome is None:
                    raise _Abandoned
                session.finish(self.outcome)
            self.written = True
        except _Abandoned:
            self.written = False
        except BaseException as exc:  # handed to the importing thread, which raises it
            self.error = exc
        finally:
            connection.close()


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
    sink: ChunkSink = SpoolSink(job) if connection.in_atomic_block else ThreadSink(job)
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
