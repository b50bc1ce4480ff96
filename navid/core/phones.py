"""Phone numbers normalised to E.164 with the phonenumbers library."""

from __future__ import annotations

import phonenumbers

from navid.core.text import to_ascii_digits


class InvalidPhone(ValueError):
    """The value is not a valid phone number."""


def normalize_phone(value: str, *, default_region: str = "IR") -> str:
    """Return the number in E.164 (`+989121234567`), or raise InvalidPhone."""
    raw = to_ascii_digits(value).strip()
    if not raw:
        raise InvalidPhone("empty")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
