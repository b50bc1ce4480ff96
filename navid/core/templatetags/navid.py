"""Template filters for the user's calendar and digits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import get_language

from navid.core.dates import format_date
from navid.core.text import to_persian_digits

register = template.Library()


@register.filter
def ldate(value: dt.date | dt.datetime | None) -> str:
    """A date in Jalali with Persian digits for Persian, ISO otherwise."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_date(value, get_language() or "en")


@register.filter
def ldatetime(value: dt.datetime | None) -> str:
    """A date and time in the user's calendar and digits."""
    if value is not None and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_date(value, get_language() or "en", with_time=True)


@register.filter
def ldigits(value: Any) -> str:
    """Digits in the user's script: Persian digits for Persian."""
    text = "" if value is None else str(value)
    return to_persian_digits(text) if (get_language() or "").startswith("fa") else text


@register.filter
def lnumber(value: Any, decimals: int = 0) -> str:
    """A grouped number in the user's digits."""
    if value is None or value == "":
        return ""
    text = number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)
    return ldigits(text)
