"""Field rules for interactions, shared by the log form, the API and the ingest of files.

Every value, typed in a form, sent to the API or read from a feed, goes through
`clean_interaction_values`, which returns model-ready values or raises ValidationFailed
naming each bad field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jdatetime
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from navid.core.errors import ValidationFailed
from navid.core.models import ReferenceItem
from navid.core.text import clean_text, search_key, to_ascii_digits
from navid.customers.models import ProductType
from navid.interactions.models import (
    ComplaintCategory,
    Direction,
    InteractionChannel,
    InteractionKind,
    Outcome,
)

# Every field a caller may set, in the order the form shows them.
INTERACTION_FIELDS = (
    "kind",
    "channel",
    "direction",
    "occurred_at",
    "outcome",
    "duration_seconds",
    "cost",
    "employee",
    "campaign_id",
    "notes",
    "rating",
    "complaint_category",
    "returned_product",
    "request_open",
)
CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "kind": InteractionKind,
    "channel": InteractionChannel,
    "direction": Direction,
    "outcome": Outcome,
}
_K, _C, _D = InteractionKind, InteractionChannel, Direction
# What a kind says about where it happened and which way it went, when the caller does not say.
KIND_DEFAULTS: dict[str, tuple[str | None, str | None]] = {
    _K.CALL: (_C.PHONE, None),
    _K.SMS: (_C.SMS, None),
    _K.EMAIL: (_C.EMAIL, None),
    _K.LETTER: (_C.POST, None),
    _K.BRANCH_VISIT: (_C.BRANCH, _D.INBOUND),
    _K.WEB_VISIT: (_C.WEB, _D.INBOUND),
    _K.REFERRAL: (None, _D.INBOUND),
    _K.INQUIRY: (None, _D.INBOUND),
    _K.COMPLAINT: (None, _D.INBOUND),
    _K.REQUEST: (None, _D.INBOUND),
    _K.MEETING: (None, None),
    _K.SOCIAL: (_C.SOCIAL, None),
}
# Kinds that can stay open until someone closes them (R7.4).
FOLLOW_UP_KINDS = frozenset({_K.REQUEST.value, _K.COMPLAINT.value})
# A clock a few minutes fast (a phone exchange, a branch PC) is not an error; an interaction tomorrow is.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_DURATION = 24 * 3600
MAX_COST = Decimal("9999999999.99")  # max_digits=12, decimal_places=2
NOTES_LIMIT = 10_000
TEXT_LIMITS = {"employee": 150, "complaint_category": 200, "returned_product": 200, "occurred_at": 64}
_TRUE = {"1", "true", "yes", "y", "بله", "да", "on"}
_FALSE = {"0", "false", "no", "n", "خیر", "нет", "off"}
_DATETIME = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
# Years below this are read as Jalali (the Jalali year 1405 is the Gregorian 2026), as for dates of customers.
_JALALI_BEFORE = 1700


@dataclass
class InteractionReferences:
    """Finds employees (by username), complaint categories and product types (by code or name); reads each once."""

    _users: dict[str, Any] | None = None
    _lists: dict[str, dict[str, Any]] = field(default_factory=dict)

    def employee(self, value: Any) -> Any:
        if value is None or isinstance(value, models.Model):
            return value
        text = str(value).strip()
        if not text:
            return None
        if self._users is None:
            self._users = {u.username.casefold(): u for u in get_user_model().objects.filter(is_active=True)}
        found = self._users.get(text.casefold())
        if found is None:
            raise ValueError(_("no active user “%(value)s”") % {"value": text[:50]})
        return found

    def item(self, model: type[ReferenceItem], value: Any) -> Any:
        if value is None or isinstance(value, models.Model):
            return value
        text = str(value).strip()
        if not text:
            return None
        label = model._meta.label
        if label not in self._lists:
            mapping: dict[str, Any] = {}
            for entry in model._default_manager.filter(is_active=True):
                for key in (entry.name_en, entry.name_fa, entry.name_ru, entry.code):
                    if key:
                        mapping[search_key(key)] = entry
            self._lists[label] = mapping
        found = self._lists[label].get(search_key(text))
        if found is None:
            raise ValueError(_("unknown value “%(value)s”") % {"value": text[:50]})
        return found


_CHOICE_CACHE: dict[tuple[str, str], dict[str, str]] = {}


def _clean_choice(name: str, value: Any, language: str) -> str:
    """A choice by its value or by its label in the given language; "" when not given."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return ""
    key = (name, language)
    if key not in _CHOICE_CACHE:
        choices = CHOICE_FIELDS[name]
        lookup = {search_key(str(label)): str(v) for v, label in choices.choices}
        lookup.update({str(v): str(v) for v in choices.values})
        _CHOICE_CACHE[key] = lookup
    found = _CHOICE_CACHE[key].get(text.lower()) or _CHOICE_CACHE[key].get(search_key(text))
    if found is None:
        raise ValueError(_("must be one of: %(values)s") % {"values": ", ".join(CHOICE_FIELDS[name].values)})
    return found


def _clean_int(value: Any, *, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(_("must be a whole number"))
    if isinstance(value, int):
        number = value
    else:
        text = to_ascii_digits(str(value)).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(_("must be a whole number"))
        number = int(text)
    if not low <= number <= high:
        raise ValueError(_("must be between %(low)s and %(high)s") % {"low": low, "high": high})
    return number


def _clean_cost(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, bool):
        raise ValueError(_("must be an amount such as 1250.50"))
    text = to_ascii_digits(str(value)).strip().replace("٫", ".").replace("٬", "").replace(" ", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(_("must be an amount such as 1250.50")) from exc
    if not amount.is_finite():
        raise ValueError(_("must be an amount such as 1250.50"))
    if amount < 0:
        raise ValueError(_("cannot be negative"))
    if amount > MAX_COST:
        raise ValueError(_("is too large"))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("has more than two decimal places"))
    return amount.quantize(Decimal("0.01"))


def _clean_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = search_key(str(value))
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    raise ValueError(_("must be yes or no"))


def _offset(text: str) -> dt.tzinfo:
    if text.upper() == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return dt.timezone(sign * dt.timedelta(minutes=minutes))


def parse_occurred_at(value: Any) -> dt.datetime:
    """Read `2024-03-20 14:30`, `2024-03-20T14:30:00+03:30`, `1403/01/01 14:30` (Jalali) or a datetime.

    A time without an offset is the bank's local time (settings.TIME_ZONE); a date alone is its midnight.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        match = _DATETIME.match(to_ascii_digits(str(value)).strip())
        if not match:
            raise ValueError(_("is not a date and time (use YYYY-MM-DD HH:MM, ISO 8601 or a Jalali date)"))
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            if int(year) < _JALALI_BEFORE:
                date = jdatetime.date(int(year), int(month), int(day)).togregorian()
            else:
                date = dt.date(int(year), int(month), int(day))
            parsed = dt.datetime(
                date.year,
                date.month,
                date.day,
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0").ljust(6, "0")),
                tzinfo=_offset(zone) if zone else None,
            )
        except ValueError as exc:
            raise ValueError(_("is not a real date and time")) from exc
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=timezone.get_default_timezone())
    return parsed.astimezone(dt.UTC)


def _clean_notes(value: Any) -> str:
    """Text kept as typed, line by line, with Persian letter forms and without control characters."""
    if value is None:
        return ""
    lines = [clean_text(line) for line in str(value).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _clean_field(name: str, raw: Any, refs: InteractionReferences, now: dt.datetime, language: str) -> Any:
    """One field's normalised value; raise ValueError with the reason."""
    if name in CHOICE_FIELDS:
        return _clean_choice(name, raw, language)
    if name == "occurred_at":
        if raw is None or raw == "":
            raise ValueError(_("is required"))
        when = parse_occurred_at(raw)
        if when > now + FUTURE_TOLERANCE:
            raise ValueError(_("is in the future"))
        if when < EARLIEST:
            raise ValueError(_("is not a plausible date"))
        return when
    if name == "duration_seconds":
        return _clean_int(raw, low=0, high=MAX_DURATION)
    if name == "rating":
        return _clean_int(raw, low=1, high=5)
    if name == "campaign_id":
        return _clean_int(raw, low=1, high=2**63 - 1)
    if name == "cost":
        return _clean_cost(raw)
    if name == "request_open":
        return _clean_bool(raw)
    if name == "employee":
        return refs.employee(raw)
    if name == "complaint_category":
        return refs.item(ComplaintCategory, raw)
    if name == "returned_product":
        return refs.item(ProductType, raw)
    return _clean_notes(raw)


def clean_interaction_values(
    values: Mapping[str, Any], *, refs: InteractionReferences, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Validate the given fields and fill in the rest; raise ValidationFailed with every problem found.

    Returns every field of INTERACTION_FIELDS under its model name: list entries and the employee as
    instances, the time in UTC, channel and direction filled from the kind where it implies them.
    """
    now = now or timezone.now()
    language = get_language() or ""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in INTERACTION_FIELDS:
            errors.setdefault(name, []).append(_("unknown field"))
            continue
        limit = NOTES_LIMIT if name == "notes" else TEXT_LIMITS.get(name, 100)
        if isinstance(raw, str) and len(raw) > limit:
            errors.setdefault(name, []).append(_("is longer than %(limit)s characters") % {"limit": limit})
            continue
        try:
            out[name] = _clean_field(name, raw, refs, now, language)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    for name in INTERACTION_FIELDS:
        if name not in out and name not in errors:
            try:
                out[name] = _clean_field(name, None, refs, now, language)
            except ValueError as exc:
                errors.setdefault(name, []).append(str(exc))

    kind = out.get("kind")
    if "kind" in out and not kind:
        errors["kind"] = [_("is required")]
    if kind:
        channel, direction = KIND_DEFAULTS[kind]
        for name, default in (("channel", channel), ("direction", direction)):
            if name in out and not out[name]:
                if default is None:
                    errors.setdefault(name, []).append(_("is required for this kind of interaction"))
                else:
                    out[name] = default
        if out.get("complaint_category") is not None and kind != InteractionKind.COMPLAINT:
            errors.setdefault("complaint_category", []).append(_("is only for complaints"))
        if out.get("request_open") and kind not in FOLLOW_UP_KINDS:
            errors.setdefault("request_open", []).append(_("only a request or a complaint can stay open"))
    if errors:
        raise ValidationFailed(errors)
    return out
