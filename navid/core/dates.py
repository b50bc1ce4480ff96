"""Dates read from users and files (Gregorian or Jalali, any digits) and shown in the user's calendar."""

from __future__ import annotations

import datetime as dt
import re

import jdatetime

from navid.core.text import to_ascii_digits, to_persian_digits

_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$")
# Years below this are read as Jalali (the Jalali year 1405 is the Gregorian 2026).
_JALALI_BEFORE = 1700


class InvalidDate(ValueError):
    """The text is not a real date."""


def parse_date(value: str | dt.date) -> dt.date:
    """Read `2024-03-20`, `1403/01/01` (Jalali) or `۱۴۰۳/۰۱/۰۱`; raise InvalidDate otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value[0] in "12":
        # The common ISO form, read in C; a Jalali year or an impossible date takes the path below.
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.year >= _JALALI_BEFORE:
                return parsed
    match = _DATE.match(to_ascii_digits(value))
    if not match:
        raise InvalidDate("format")
    year, month, day = (int(g) for g in match.groups())
    try:
        if year < _JALALI_BEFORE:
            return jdatetime.date(year, month, day).togregorian()
        return dt.date(year, month, day)
    except ValueError as exc:
        raise InvalidDate("impossible") from exc


def format_date(value: dt.date | dt.datetime | None, language: str, *, with_time: bool = False) -> str:
    """A date in the calendar and digits of `language`: Jalali with Persian digits for fa, ISO otherwise."""
    if value is None:
        return ""
    if language.startswith("fa"):
        if isinstance(value, dt.datetime):
            text = jdatetime.datetime.fromgregorian(datetime=value).strftime(
                "%Y/%m/%d %H:%M" if with_time else "%Y/%m/%d"
            )
        else:
            text = jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d")
        return to_persian_digits(text)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    return value.strftime("%Y-%m-%d")
