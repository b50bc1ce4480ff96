"""Phone numbers normalised to E.164 with the phonenumbers library.

`phonenumbers.parse` costs tens of microseconds a number, which dominates a large import. Most numbers in a
bank's files come in one of three plain shapes: `+<country code><number>`, the national prefix and the number
(`09121234567`), or the bare national number. For those, `_fast_e164` checks the national number against the
same metadata patterns that `phonenumbers.is_valid_number` uses and builds the E.164 form directly. It only
ever answers "valid, and this is the E.164 form"; anything it is unsure of goes through `phonenumbers`, which
also gives every rejection. A property test checks that the two never disagree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

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
    fast = _fast_e164(raw, default_region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PLAIN = re.compile(r"\+?[0-9]{4,17}")
# The number types phonenumbers checks; a number of any of them is valid. The common ones come first.
_TYPE_DESCS = (
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _Region:
    code: str
    country_code: int
    national_prefix: str
    leading_digits: re.Pattern[str] | None
    general: tuple[re.Pattern[str], frozenset[int]]
    types: tuple[tuple[re.Pattern[str], frozenset[int]], ...]

    def is_valid(self, national: str) -> bool:
        """The same answer as phonenumbers' number type being known, for a national significant number."""
        pattern, lengths = self.general
        size = len(national)
        if (lengths and size not in lengths) or not pattern.fullmatch(national):
            return False
        return any(
            (not type_lengths or size in type_lengths) and type_pattern.fullmatch(national)
            for type_pattern, type_lengths in self.types
        )


def _desc(desc: object) -> tuple[re.Pattern[str], frozenset[int]] | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if pattern is None:
        return None
    lengths = tuple(getattr(desc, "possible_length", ()) or ())
    return re.compile(pattern), frozenset(n for n in lengths if n > 0)


@functools.cache
def _region(code: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(code, None)
    if metadata is None:
        return None
    general = _desc(metadata.general_desc)
    # Regions whose national prefix is rewritten by a rule go the slow way.
    if (
        general is None
        or metadata.country_code is None
        or metadata.national_prefix_transform_rule is not None
    ):
        return None
    prefix = metadata.national_prefix_for_parsing or metadata.national_prefix or ""
    if prefix and not prefix.isdigit():
        return None
    types = tuple(d for d in (_desc(getattr(metadata, name, None)) for name in _TYPE_DESCS) if d is not None)
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    return _Region(code, metadata.country_code, prefix, leading, general, types)


def _region_for(country_code: int, national: str) -> _Region | None:
    """The region phonenumbers assigns a number of this country code to (its `region_code_for_number`)."""
    found = [_region(code) for code in COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())]
    regions = [r for r in found if r is not None]
    if not regions or len(regions) != len(found):
        return None
    if len(regions) == 1:
        return regions[0]
    for region in regions:
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return region
        elif region.is_valid(national):
            return region
    return None


def _fast_e164(raw: str, default_region: str) -> str | None:
    """E.164 for a plainly written valid number; None when phonenumbers must decide."""
    if not _PLAIN.fullmatch(raw):
        return None
    if raw.startswith("+"):
        digits = raw[1:]
        if digits.startswith("0"):
            return None
        for size in (1, 2, 3):
            country_code = int(digits[:size])
            if country_code in COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        national = digits[size:]
        region = _region_for(country_code, national)
    else:
        region = _region(default_region)
        if region is None:
            return None
        national = raw
        if region.national_prefix and raw.startswith(region.national_prefix):
            # phonenumbers strips the prefix unless the whole string is itself a well-formed national number.
            if region.general[0].fullmatch(raw):
                return None
            national = raw[len(region.national_prefix) :]
        country_code = region.country_code
    if region is None or not national or national[0] == "0":
        return None
    if region.national_prefix and national.startswith(region.national_prefix):
        return None
    if not region.is_valid(national):
        return None
    return f"+{country_code}{national}"
