"""Text normalisation for Persian, Arabic and Russian search and storage."""

from __future__ import annotations

import re
import unicodedata

# Arabic letters that Persian writes differently, and both digit sets, mapped to one form.
_TRANSLATE = str.maketrans(
    {
        "ي": "ی",  # Arabic yeh -> Persian yeh
        "ى": "ی",  # alef maksura -> Persian yeh
        "ك": "ک",  # Arabic kaf -> Persian keheh
        "ة": "ه",  # teh marbuta -> heh
        "ۀ": "ه",
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ё": "е",
        "Ё": "Е",
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        "\u200c": " ",  # ZWNJ separates words for search
        "\u200d": "",
        "\u200f": "",
        "\u200e": "",
        "\u0640": "",  # tatweel
    }
)
_LETTERS = str.maketrans("يىك", "ییک")
# Control and invisible formatting characters, except the ZWNJ (U+200C) that Persian spelling needs.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200d-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")
_SPACES = re.compile(r"\s+")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def to_ascii_digits(value: str) -> str:
    """Replace Persian and Arabic-Indic digits with ASCII ones."""
    if not value or value.isascii():
        return value  # nothing to replace: most values of an import, checked far faster than translated
    return value.translate(_TRANSLATE)


def to_persian_digits(value: str) -> str:
    """Replace ASCII digits with Persian ones, for display in the Persian interface."""
    return value.translate(_PERSIAN_DIGITS)


def clean_text(value: str | None) -> str:
    """Canonical stored form of a name: Persian letters, no control characters, single spaces."""
    if not value:
        return ""
    if value.isascii() and value.isprintable():
        return " ".join(value.split())  # the same result, without the regular expressions
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = _CONTROL.sub("", value.translate(_LETTERS))
    return _SPACES.sub(" ", value).strip()


def search_key(value: str | None) -> str:
    """The form stored for search and compared with a normalised query: case-folded, one letter form."""
    if not value:
        return ""
    if value.isascii():
        return " ".join(value.split()).lower()  # the same result, without the translation and expressions
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = value.translate(_TRANSLATE)
    value = _DIACRITICS.sub("", value)
    return _SPACES.sub(" ", value).strip().casefold()


def digits_only(value: str) -> str:
    """The ASCII digits of a value, after converting Persian and Arabic digits."""
    text = to_ascii_digits(value)
    if text.isascii() and text.isdigit():
        return text
    return "".join(ch for ch in text if ch.isdigit() and ch.isascii())
