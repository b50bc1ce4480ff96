"""Field rules for customers, shared by the forms, the API and the importer.

Every value, typed or read from a file, goes through `clean_customer_values`, which
returns the normalised values or raises ValidationFailed naming each bad field.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from navid.accounts.models import Branch, Region
from navid.core.dates import InvalidDate, parse_date
from navid.core.errors import ValidationFailed
from navid.core.models import ReferenceItem
from navid.core.national_id import InvalidNationalId, classify_national_id
from navid.core.phones import InvalidPhone, normalize_phone
from navid.core.text import clean_text, search_key, to_ascii_digits
from navid.customers.models import (
    Channel,
    Customer,
    Industry,
    Language,
    PartyKind,
    PartyStatus,
    ProspectRank,
    ProspectStatus,
    ProspectType,
)

# A cell that a spreadsheet would run as a formula: =..., @..., or +/- followed by something not numeric.
_FORMULA = re.compile(r"^\s*(?:[=@\t\r]|[+\-](?=.*[^\d\s().+\-]))")

TEXT_LIMITS = {
    "external_id": 64,
    "first_name": 100,
    "last_name": 100,
    "organisation_name": 200,
    "address": 500,
    "city": 100,
    "postal_code": 20,
    "email": 254,
}
REFERENCE_MODELS: dict[str, type[ReferenceItem]] = {
    "region": Region,
    "branch": Branch,
    "prospect_type": ProspectType,
    "prospect_rank": ProspectRank,
    "prospect_status": ProspectStatus,
    "industry": Industry,
}
CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "kind": PartyKind,
    "status": PartyStatus,
    "language": Language,
    "preferred_channel": Channel,
}
BOOL_FIELDS = {"do_not_contact"}
DATE_FIELDS = {"birth_date", "customer_since"}
# Every field a caller may set, in the order forms and import templates show them.
CUSTOMER_FIELDS = (
    "external_id",
    "kind",
    "status",
    "first_name",
    "last_name",
    "organisation_name",
    "national_id",
    "birth_date",
    "phone",
    "email",
    "address",
    "city",
    "postal_code",
    "region",
    "branch",
    "relationship_manager",
    "language",
    "preferred_channel",
    "prospect_type",
    "prospect_rank",
    "prospect_status",
    "industry",
    "do_not_contact",
    "customer_since",
)
_TRUE = {"1", "true", "yes", "y", "بله", "да", "x"}
_FALSE = {"0", "false", "no", "n", "خیر", "нет", ""}


_FORMULA_START = frozenset("=@\t\r+- \n\x0b\x0c")


def is_formula(value: str) -> bool:
    """True when a spreadsheet would evaluate the cell as a formula."""
    return bool(value) and (value[0] in _FORMULA_START or value[0].isspace()) and bool(_FORMULA.match(value))


@dataclass
class ReferenceResolver:
    """Finds list entries (regions, branches, prospect types ...) by id, code or name in any language."""

    _maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    _users: dict[str, Any] | None = None

    def preload(self) -> None:
        """Read every list and user now, so that later lookups never touch the database."""
        for name in REFERENCE_MODELS:
            self._map(name)
        self._users_loaded()

    def _users_loaded(self) -> dict[str, Any]:
        if self._users is None:
            self._users = {u.username.casefold(): u for u in get_user_model().objects.filter(is_active=True)}
        return self._users

    def _map(self, name: str) -> dict[str, Any]:
        if name not in self._maps:
            mapping: dict[str, Any] = {}
            items: Any = REFERENCE_MODELS[name]._default_manager.filter(is_active=True)
            if name == "branch":
                items = Branch.objects.filter(is_active=True).select_related("region")
            for item in items:
                for key in (item.code, item.name_en, item.name_fa, item.name_ru):
                    if key:
                        mapping[search_key(key)] = item
            self._maps[name] = mapping
        return self._maps[name]

    def resolve(self, name: str, value: Any) -> Any:
        if value is None or isinstance(value, models.Model):
            return value
        text = str(value).strip()
        if not text:
            return None
        found = self._map(name).get(search_key(text))
        if found is None:
            raise ValueError(_("unknown value “%(value)s”") % {"value": text[:50]})
        return found

    def user(self, value: Any) -> Any:
        if value is None or isinstance(value, models.Model):
            return value
        text = str(value).strip()
        if not text:
            return None
        found = self._users_loaded().get(text.casefold())
        if found is None:
            raise ValueError(_("no active user “%(value)s”") % {"value": text[:50]})
        return found


def _choice_lookup(name: str) -> dict[str, str]:
    """Accepted spellings of a choice (its value, its label in the current language) -> the value."""
    key = (name, get_language() or "")
    if key not in _CHOICE_CACHE:
        choices = CHOICE_FIELDS[name]
        lookup = {search_key(str(label)): str(value) for value, label in choices.choices}
        lookup.update({str(v): str(v) for v in choices.values})
        _CHOICE_CACHE[key] = lookup
    return _CHOICE_CACHE[key]


_CHOICE_CACHE: dict[tuple[str, str], dict[str, str]] = {}


_CHOICE_VALUES = {name: frozenset(str(v) for v in choices.values) for name, choices in CHOICE_FIELDS.items()}


def _clean_choice(name: str, value: Any) -> str:
    text = str(value or "").strip().lower()
    if text in _CHOICE_VALUES[name]:
        return text
    if not text and name == "preferred_channel":
        return ""
    found = _choice_lookup(name).get(text) or _choice_lookup(name).get(search_key(text))
    if found is None:
        raise ValueError(_("must be one of: %(values)s") % {"values": ", ".join(CHOICE_FIELDS[name].values)})
    return found


def _clean_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = search_key(str(value or ""))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(_("must be yes or no"))


def _clean_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_date(value)
    except InvalidDate as exc:
        if str(exc) == "impossible":
            raise ValueError(_("is not a real date")) from exc
        raise ValueError(_("is not a date (use YYYY-MM-DD or a Jalali YYYY/MM/DD)")) from exc
    if not dt.date(1850, 1, 1) <= parsed <= dt.date.today() + dt.timedelta(days=1):
        raise ValueError(_("is not a plausible date"))
    return parsed


# A plain address that Django's validator always accepts; anything else is left to that validator.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def _clean_email(value: Any) -> str:
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if len(text) <= 254 and _PLAIN_EMAIL.fullmatch(text):
        return text
    try:
        validate_email(text)
    except DjangoValidationError as exc:
        raise ValueError(_("is not a valid email address")) from exc
    return text


def _clean_phone(value: Any, default_region: str) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        return normalize_phone(text, default_region=default_region)
    except InvalidPhone as exc:
        raise ValueError(_("is not a valid phone number")) from exc


_Cleaner = Callable[[str, Any, ReferenceResolver, str], Any]


def _cleaner_for(name: str) -> _Cleaner:
    """The function that cleans one field; chosen once per field, not once per value."""
    if name == "external_id":
        return lambda _n, raw, _r, _d: to_ascii_digits(clean_text(str(raw or ""))) or None
    if name == "email":
        return lambda _n, raw, _r, _d: _clean_email(raw)
    if name in TEXT_LIMITS:
        return lambda _n, raw, _r, _d: clean_text(str(raw or ""))
    if name in CHOICE_FIELDS:
        return lambda n, raw, _r, _d: _clean_choice(n, raw)
    if name in BOOL_FIELDS:
        return lambda _n, raw, _r, _d: _clean_bool(raw)
    if name in DATE_FIELDS:
        return lambda _n, raw, _r, _d: _clean_date(raw)
    if name == "phone":
        return lambda _n, raw, _r, region: _clean_phone(raw, region)
    if name in REFERENCE_MODELS:
        return lambda n, raw, resolver, _d: resolver.resolve(n, raw)
    if name == "relationship_manager":
        return lambda _n, raw, resolver, _d: resolver.user(raw)
    return lambda _n, raw, _r, _d: raw  # national_id: checked once the kind is known


_CLEANERS: dict[str, _Cleaner] = {name: _cleaner_for(name) for name in CUSTOMER_FIELDS}


def clean_field(name: str, raw: Any, resolver: ReferenceResolver, default_region: str = "IR") -> Any:
    """One field's normalised value, on its own; raise ValueError with the reason.

    National IDs are returned as given: whether they are valid depends on the kind (see check_customer_record).
    """
    cleaner = _CLEANERS.get(name)
    if cleaner is None:
        raise ValueError(_("unknown field"))
    if isinstance(raw, str):
        if is_formula(raw):
            raise ValueError(_("looks like a spreadsheet formula; it was not imported"))
        limit = TEXT_LIMITS.get(name, 500)
        if len(raw) > limit:
            raise ValueError(_("is longer than %(limit)s characters") % {"limit": limit})
    return cleaner(name, raw, resolver, default_region)


def clean_customer_values(
    values: Mapping[str, Any],
    *,
    resolver: ReferenceResolver,
    instance: Customer | None = None,
    default_region: str = "IR",
) -> dict[str, Any]:
    """Validate and normalise the given fields; raise ValidationFailed with every problem found."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            out[name] = clean_field(name, raw, resolver, default_region)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    return check_customer_record(out, errors, instance=instance)


def check_customer_record(
    out: dict[str, Any], errors: dict[str, list[str]], *, instance: Customer | None = None
) -> dict[str, Any]:
    """The rules across fields, on fields cleaned one by one; raise ValidationFailed with every problem.

    `errors` holds the problems already found in single fields; `out` is completed in place (the national
    ID checked against the kind, the region taken from the branch) and returned.
    """

    def current(name: str) -> Any:
        if name in out:
            return out[name]
        return getattr(instance, name) if instance is not None else None

    kind = current("kind") or PartyKind.PERSON
    if "national_id" in out:
        raw_id = str(out["national_id"] or "").strip()
        if raw_id:
            try:
                out["national_id"], _kind = classify_national_id(
                    raw_id, organisation=kind == PartyKind.ORGANISATION
                )
            except InvalidNationalId:
                errors.setdefault("national_id", []).append(
                    _("is not a valid national ID (Iranian national code, legal-entity ID or Russian INN)")
                )
        else:
            out["national_id"] = None

    if not errors:
        if kind == PartyKind.ORGANISATION:
            if not current("organisation_name"):
                errors["organisation_name"] = [_("is required for an organisation")]
        elif not current("last_name") and not current("first_name"):
            errors["last_name"] = [_("a person needs a first or last name")]
        branch, region = current("branch"), current("region")
        if branch is not None:
            if region is None:
                out["region"] = branch.region
            elif branch.region_id != region.pk:
                errors["branch"] = [_("belongs to another region")]
    if errors:
        raise ValidationFailed(errors)
    return out


@functools.lru_cache(maxsize=65536)
def _names_key(names: str) -> str:
    return search_key(names)  # names repeat a great deal across customers


def customer_search_text(values: Mapping[str, Any]) -> str:
    """The normalised text a customer is found by: names, national ID, phone digits, email."""
    names = " ".join(
        p for p in (values.get("first_name"), values.get("last_name"), values.get("organisation_name")) if p
    )
    parts = (
        _names_key(names),
        values.get("national_id") or "",
        (values.get("phone") or "").lstrip("+"),
        search_key(values.get("email")),
    )
    return " ".join(p for p in parts if p)[:700]
