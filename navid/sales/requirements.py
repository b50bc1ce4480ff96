"""What an application for a product must carry: the grammar of the bank's lists, and the check of one application.

A requirement names fields (`{"name": "monthly_income", "label": "Monthly income", "type": "number",
"required": true}`; types text, number, date, yes_no) and documents (`{"kind": "id_card", "label": "ID card",
"required": true}`). A product without a requirement needs nothing beyond the customer and the product.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from navid.core.dates import InvalidDate, parse_date
from navid.core.errors import ValidationFailed

# Uploaded documents: at most this many bytes each, and only these types (what scanners and phones produce).
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
# The first bytes of each type: a file named .pdf that is not a PDF is refused.
_MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
TEXT_MAX = 500
_NAME = r"^[a-z][a-z0-9_]{0,49}$"


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "number", "date", "yes_no"] = "text"
    required: bool = False


class DocumentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern=_NAME)
    label: str = Field(min_length=1, max_length=100)
    required: bool = True


@dataclass(frozen=True)
class Requirements:
    fields: tuple[FieldSpec, ...] = ()
    documents: tuple[DocumentSpec, ...] = ()

    def document(self, kind: str) -> DocumentSpec | None:
        return next((d for d in self.documents if d.kind == kind), None)


NO_REQUIREMENTS = Requirements()
_FIELDS = TypeAdapter(list[FieldSpec])
_DOCUMENTS = TypeAdapter(list[DocumentSpec])


def requirements_parse(*, fields: Any, documents: Any) -> Requirements:
    """Check the bank's lists; ValidationFailed naming the list, row and key of each problem."""
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for key, adapter, data in (("fields", _FIELDS, fields), ("documents", _DOCUMENTS, documents)):
        try:
            parsed[key] = tuple(adapter.validate_python(data or []))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in (key, *error["loc"]))
                errors.setdefault(where, []).append(error["msg"])
    for key, attr in (("fields", "name"), ("documents", "kind")):
        names = [getattr(item, attr) for item in parsed.get(key, ())]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            errors.setdefault(key, []).append(_("Named twice: %(names)s") % {"names": ", ".join(duplicates)})
    if errors:
        raise ValidationFailed(errors)
    return Requirements(fields=parsed["fields"], documents=parsed["documents"])


def _clean_value(spec: FieldSpec, raw: Any) -> Any:
    if spec.type == "number":
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise ValueError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return str(number)
    if spec.type == "date":
        try:
            return parse_date(raw if isinstance(raw, dt.date) else str(raw).strip()).isoformat()
        except InvalidDate as exc:
            raise ValueError(_("Enter a date (YYYY-MM-DD, Gregorian or Jalali).")) from exc
    if spec.type == "yes_no":
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ValueError(_("Answer yes or no."))
    text = str(raw).strip()
    if len(text) > TEXT_MAX:
        raise ValueError(_("At most %(n)d characters.") % {"n": TEXT_MAX})
    return text


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def values_clean(
    requirements: Requirements, values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The answers checked against the product's fields: (clean values, errors by "values.<name>")."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    known = {spec.name for spec in requirements.fields}
    for name in sorted(set(values) - known):
        errors[f"values.{name}"] = [_("This product asks no such question.")]
    for spec in requirements.fields:
        raw = values.get(spec.name)
        if _is_empty(raw):
            if spec.required:
                errors[f"values.{spec.name}"] = [
                    _("%(label)s is required for this product.") % {"label": spec.label}
                ]
            continue
        try:
            clean[spec.name] = _clean_value(spec, raw)
        except ValueError as exc:
            errors[f"values.{spec.name}"] = [f"{spec.label}: {exc}"]
    return clean, errors


@dataclass(frozen=True)
class IncomingDocument:
    """A document before it is stored: its kind, the name the customer gave it, and its bytes."""

    kind: str
    name: str
    content: bytes


def document_check(requirements: Requirements, document: IncomingDocument) -> str:
    """The content type of an acceptable document; ValueError saying why it is not."""
    if requirements.document(document.kind) is None:
        raise ValueError(
            _("This product asks for no document of the kind “%(kind)s”.") % {"kind": document.kind}
        )
    if not document.content:
        raise ValueError(_("The file is empty."))
    if len(document.content) > DOCUMENT_MAX_BYTES:
        raise ValueError(
            _("The file is larger than %(mb)d MB.") % {"mb": DOCUMENT_MAX_BYTES // (1024 * 1024)}
        )
    suffix = re.sub(r"^.*(\.[^.]*)$", r"\1", document.name.lower()) if "." in document.name else ""
    content_type = DOCUMENT_TYPES.get(suffix)
    if content_type is None:
        raise ValueError(
            _("Only these files are accepted: %(types)s.") % {"types": ", ".join(sorted(DOCUMENT_TYPES))}
        )
    if not document.content.startswith(_MAGIC[content_type]):
        raise ValueError(_("The file's content is not a %(suffix)s file.") % {"suffix": suffix})
    return content_type


def documents_check(
    requirements: Requirements, documents: list[IncomingDocument], *, present: frozenset[str] = frozenset()
) -> tuple[list[tuple[IncomingDocument, str]], dict[str, list[str]]]:
    """Each document checked, and every required kind present (here or already `present`)."""
    errors: dict[str, list[str]] = {}
    accepted: list[tuple[IncomingDocument, str]] = []
    for document in documents:
        try:
            accepted.append((document, document_check(requirements, document)))
        except ValueError as exc:
            errors.setdefault(f"documents.{document.kind}", []).append(f"{document.name}: {exc}")
    kinds = {d.kind for d in documents} | set(present)
    for spec in requirements.documents:
        if spec.required and spec.kind not in kinds:
            errors.setdefault(f"documents.{spec.kind}", []).append(
                _("%(label)s is required for this product.") % {"label": spec.label}
            )
    return accepted, errors
