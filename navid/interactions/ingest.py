"""Ingest of interaction feeds (R2.1): CSV (UTF-8 or Windows-1256) or JSON lines, one interaction a line.

Unlike a customer import, an ingest is not all-or-nothing. A feed is a log of what already
happened (a phone exchange's call records, an SMS gateway's delivery list): one bad line must
not hold back thousands of true ones, so accepted lines are written and every rejected line is
reported with its number, field and reason. A file that cannot be read as a whole (wrong
encoding, unknown columns, no column naming the customer) is refused before anything is written.

Lines are read in batches; the caller writes each batch in one transaction together with the
job's checkpoint (the last line handled), so a run that stops half-way resumes after the last
committed batch and never writes a line twice.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.core.errors import ValidationFailed
from navid.core.text import clean_text, digits_only, search_key, to_ascii_digits
from navid.customers.importing import ImportFileError, open_table
from navid.customers.models import Customer
from navid.customers.selectors import customers_visible_to
from navid.interactions.models import Interaction, InteractionIngestJob
from navid.interactions.validation import INTERACTION_FIELDS, InteractionReferences, clean_interaction_values

BATCH = 2000
MAX_ERRORS_KEPT = 10_000
# A line names its customer by one (or more, which must agree) of these.
CUSTOMER_KEYS = ("customer_id", "external_id", "national_id")
COLUMNS = (*CUSTOMER_KEYS, *INTERACTION_FIELDS)
_MERGE_HOPS = 5


class IngestFileError(Exception):
    """The file as a whole cannot be read: wrong format, encoding or columns."""


@dataclass
class LineError:
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class Batch:
    """Lines read up to `last_line`: the interactions to write and the lines rejected."""

    last_line: int
    interactions: list[tuple[Any, ...]] = field(default_factory=list)  # rows for InteractionWriter
    errors: list[LineError] = field(default_factory=list)
    rejected: int = 0


def detect_format(path: Path, file_name: str) -> str:
    """csv or jsonl, from the file name or else the first character; XLSX and empty files are refused."""
    with path.open("rb") as probe:
        head = probe.read(4096)
    if head.startswith(b"PK\x03\x04"):
        raise IngestFileError(_("Interactions are read from CSV or JSON lines files; save the sheet as CSV."))
    if not head.strip():
        raise IngestFileError(_("The file is empty."))
    suffix = Path(file_name).suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return InteractionIngestJob.Format.JSONL
    if suffix in {".csv", ".tsv", ".txt"}:
        return InteractionIngestJob.Format.CSV
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return InteractionIngestJob.Format.JSONL if first == b"{" else InteractionIngestJob.Format.CSV


def _check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file before anything is written; name the first line that is not valid text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    label = "utf-8" if encoding.startswith("utf-8") else encoding
    line = 1
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise IngestFileError(
                    _("Line %(line)s: the file is not valid %(encoding)s text.")
                    % {"line": line + chunk.count(b"\n", 0, exc.start), "encoding": label}
                ) from exc
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise IngestFileError(
                _("Line %(line)s: the file is not valid %(encoding)s text.")
                % {"line": line, "encoding": label}
            ) from exc


def _column_name(header: str) -> str:
    return search_key(header).replace(" ", "_").replace("-", "_")


_Line = tuple[int, dict[str, Any] | None, LineError | None]


@dataclass
class Feed:
    """An opened feed: its lines as (number, values or None, problem or None), and how much was read."""

    lines: Iterator[_Line]
    read_fraction: Callable[[], float]


def _open_csv(path: Path) -> Feed:
    try:
        table = open_table(path)
    except ImportFileError as exc:
        raise IngestFileError(str(exc)) from exc
    _check_encoding(path, table.encoding)
    names = [_column_name(h) for h in table.header]
    unknown = [h for h, n in zip(table.header, names, strict=True) if n not in COLUMNS and h.strip()]
    if unknown:
        raise IngestFileError(
            _("Unknown columns: %(cols)s. Columns are: %(known)s.")
            % {"cols": ", ".join(unknown), "known": ", ".join(COLUMNS)}
        )
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise IngestFileError(_("Columns given twice: %(cols)s") % {"cols": ", ".join(repeated)})
    if not any(k in names for k in CUSTOMER_KEYS):
        hint = ""
        if len(table.header) == 1 and table.delimiter:
            hint = " " + _(
                "The file has a single column: is it separated by something other than “%(d)s”?"
            ) % {"d": table.delimiter}
        raise IngestFileError(
            _("Required column missing: one of %(cols)s.") % {"cols": ", ".join(CUSTOMER_KEYS)} + hint
        )
    width = len(names)

    def lines() -> Iterator[_Line]:
        try:
            for number, cells in table.rows:
                if len(cells) > width and any(c.strip() for c in cells[width:]):
                    yield (
                        number,
                        None,
                        LineError(number, "*", _("has more cells than the header has columns")),
                    )
                    continue
                # An empty cell means "not given".
                yield number, {n: c for n, c in zip(names, cells, strict=False) if n and c.strip()}, None
        except ImportFileError as exc:
            raise IngestFileError(str(exc)) from exc

    return Feed(lines(), table.read_fraction)


def _open_jsonl(path: Path) -> Feed:
    _check_encoding(path, "utf-8-sig")
    size = max(1, path.stat().st_size)
    consumed = [0]

    def lines() -> Iterator[_Line]:
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, start=1):
                consumed[0] += len(raw)
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
                if not text:
                    continue
                try:
                    values = json.loads(text)
                except ValueError:
                    yield number, None, LineError(number, "*", _("is not valid JSON"))
                    continue
                if not isinstance(values, dict):
                    yield number, None, LineError(number, "*", _("is not a JSON object"))
                    continue
                yield number, {k: v for k, v in values.items() if v is not None and v != ""}, None

    return Feed(lines(), lambda: consumed[0] / size)


def open_feed(path: Path, fmt: str) -> Feed:
    """Open a feed file; raise IngestFileError with a reason a person can act on."""
    if fmt == InteractionIngestJob.Format.JSONL:
        return _open_jsonl(path)
    return _open_csv(path)


class CustomerFinder:
    """Finds the customers that lines name, among those the job's actor may see, a batch at a time."""

    def __init__(self, actor: Any) -> None:
        self.visible: QuerySet[Customer] = (
            customers_visible_to(user=actor)
            if actor is not None
            else Customer.objects.filter(deleted_at__isnull=True)
        )

    def _follow_merges(self, ids: set[int]) -> dict[int, int]:
        """Ids of records merged away -> the id of the visible record they live on in."""
        found: dict[int, int] = {}
        pending: dict[int, list[int]] = {pk: [pk] for pk in ids}  # record reached -> the ids that lead to it
        for _hop in range(_MERGE_HOPS):
            if not pending:
                break
            moved = Customer.objects.filter(pk__in=pending, merged_into__isnull=False).values_list(
                "pk", "merged_into_id"
            )
            reached: dict[int, list[int]] = {}
            for pk, target in moved:
                reached.setdefault(target, []).extend(pending[pk])
            live = set(self.visible.filter(pk__in=reached).values_list("pk", flat=True))
            for target in live:
                for origin in reached.pop(target):
                    found[origin] = target
            pending = reached
        return found

    def find(self, keys: list[dict[str, str]]) -> list[dict[str, int]]:
        """For each line's keys, the customer id each key points to (keys that point nowhere are left out)."""
        ids = {int(k["customer_id"]) for k in keys if "customer_id" in k}
        externals = {k["external_id"] for k in keys if "external_id" in k}
        nationals = {k["national_id"] for k in keys if "national_id" in k}
        by_id = (
            {pk: pk for pk in self.visible.filter(pk__in=ids).order_by().values_list("pk", flat=True)}
            if ids
            else {}
        )
        if ids - by_id.keys():
            by_id.update(self._follow_merges(ids - by_id.keys()))
        by_key: dict[str, dict[Any, int]] = {
            "customer_id": by_id,
            "external_id": dict(
                self.visible.filter(external_id__in=externals).order_by().values_list("external_id", "pk")
            )
            if externals
            else {},
            "national_id": dict(
                self.visible.filter(national_id__in=nationals).order_by().values_list("national_id", "pk")
            )
            if nationals
            else {},
        }
        result = []
        for line_keys in keys:
            found: dict[str, int] = {}
            for name, value in line_keys.items():
                lookup: Any = int(value) if name == "customer_id" else value
                if lookup in by_key[name]:
                    found[name] = by_key[name][lookup]
            result.append(found)
        return result


def _customer_keys(values: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The normalised customer keys of a line, and problems with them."""
    keys: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in CUSTOMER_KEYS:
        raw = values.pop(name, None)
        if raw is None or raw == "":
            continue
        text = str(raw)
        if name == "customer_id":
            text = to_ascii_digits(text).strip()
            if isinstance(raw, bool) or not text.isdigit() or len(text) > 18:
                errors[name] = [_("must be a whole number")]
                continue
        elif name == "national_id":
            text = digits_only(text)
            if not text:
                errors[name] = [
                    _("is not a valid national ID (Iranian national code, legal-entity ID or Russian INN)")
                ]
                continue
        else:
            text = to_ascii_digits(clean_text(text))[:64]
        keys[name] = text
    if not keys and not errors:
        errors["customer_id"] = [_("a line needs customer_id, external_id or national_id")]
    return keys, errors


def _column(name: str) -> str:
    field = Interaction._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(name)
    return field.column


class InteractionWriter:
    """Inserts clean interactions a batch at a time: COPY on PostgreSQL, one `executemany` elsewhere.

    An ORM bulk_create spends more time building its SQL than the database spends storing the rows.
    """

    _FIELDS = ("customer", "created_at", "source", *INTERACTION_FIELDS)

    def __init__(self, *, source: str, created_at: dt.datetime) -> None:
        meta = Interaction._meta
        qn = connection.ops.quote_name
        columns = ", ".join(qn(_column(name)) for name in self._FIELDS)
        marks = ", ".join(["%s"] * len(self._FIELDS))
        self.target = f"{qn(meta.db_table)} ({columns})"
        self.sql = f"INSERT INTO {self.target} VALUES ({marks})"  # noqa: S608 - names from the model
        self.head = (connection.ops.adapt_datetimefield_value(created_at), source)

    def row(self, *, customer_id: int, clean: dict[str, Any]) -> tuple[Any, ...]:
        """The database values of one interaction, in the order of the insert."""
        ops = connection.ops
        values: list[Any] = [customer_id, *self.head]
        for name in INTERACTION_FIELDS:
            value = clean[name]
            if name == "occurred_at":
                value = ops.adapt_datetimefield_value(value)
            elif name == "cost":
                value = ops.adapt_decimalfield_value(value, 12, 2)
            elif isinstance(value, models.Model):
                value = value.pk
            values.append(value)
        return tuple(values)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            # In the order of the customer indexes: each index page is then visited once, not once a row.
            rows = sorted(rows, key=lambda row: row[0])
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(f"COPY {self.target} FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(self.sql, rows)


class Ingester:
    """Reads one job's file into batches of interactions to write and lines rejected."""

    def __init__(self, job: InteractionIngestJob, *, now: dt.datetime | None = None) -> None:
        self.job = job
        self.now = now or timezone.now()
        self.refs = InteractionReferences()
        self.finder = CustomerFinder(job.actor)
        self.feed = open_feed(Path(job.stored_path), job.format)
        self.writer = InteractionWriter(source=job.source, created_at=self.now)

    def read_fraction(self) -> float:
        return self.feed.read_fraction()

    def batches(self, *, after_line: int = 0) -> Iterator[Batch]:
        """Batches of lines after `after_line` (lines up to it were handled by an earlier run)."""
        pending: list[tuple[int, dict[str, Any]]] = []
        batch = Batch(last_line=after_line)
        for number, values, problem in self.feed.lines:
            if number <= after_line:
                continue
            batch.last_line = number
            if problem is not None:
                self._reject(batch, number, {problem.field: [problem.reason]})
            elif values is not None:
                pending.append((number, values))
            if len(pending) >= BATCH:
                self._resolve(batch, pending)
                yield batch
                pending, batch = [], Batch(last_line=number)
        if pending or batch.rejected:
            self._resolve(batch, pending)
            yield batch

    def _reject(self, batch: Batch, number: int, errors: dict[str, list[str]]) -> None:
        batch.rejected += 1
        for name, reasons in errors.items():
            for reason in reasons:
                batch.errors.append(LineError(number, name, reason))

    def _resolve(self, batch: Batch, pending: list[tuple[int, dict[str, Any]]]) -> None:
        """Validate the lines, find their customers, and turn the good ones into rows to insert."""
        checked: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        for number, raw in pending:
            values = dict(raw)
            keys, errors = _customer_keys(values)
            clean: dict[str, Any] = {}
            try:
                clean = clean_interaction_values(values, refs=self.refs, now=self.now)
            except ValidationFailed as exc:
                errors.update(exc.errors)
            if errors:
                self._reject(batch, number, errors)
                continue
            checked.append((number, keys, clean))
        found = self.finder.find([keys for _n, keys, _c in checked])
        for (number, keys, clean), targets in zip(checked, found, strict=True):
            missing = [name for name in keys if name not in targets]
            if missing:
                self._reject(
                    batch, number, {name: [_("no such customer among those you may see")] for name in missing}
                )
                continue
            ids = list(dict.fromkeys(targets.values()))
            if len(ids) > 1:
                first, *others = list(targets)
                self._reject(
                    batch,
                    number,
                    {
                        name: [_("names another customer than %(field)s") % {"field": first}]
                        for name in others
                    },
                )
                continue
            batch.interactions.append(self.writer.row(customer_id=ids[0], clean=clean))
        batch.errors.sort(key=lambda e: e.line)
