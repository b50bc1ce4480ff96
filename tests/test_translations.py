"""Every message of the interface has a Persian and a Russian translation, and the compiled catalogues match."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[1] / "navid" / "locale"
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def _entries(po: Path) -> list[tuple[bool, str, list[str]]]:
    """(fuzzy, msgid, msgstrs) of every entry but the header."""
    entries: list[tuple[bool, str, list[str]]] = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        msgid, msgstrs, current = "", [], ""
        for line in lines:
            if line.startswith("msgid "):
                current = "id"
                msgid = "".join(_STRING.findall(line))
            elif line.startswith("msgid_plural"):
                current = "plural"
            elif line.startswith("msgstr"):
                current = "str"
                msgstrs.append("".join(_STRING.findall(line)))
            elif line.startswith('"'):
                text = "".join(_STRING.findall(line))
                if current == "id":
                    msgid += text
                elif current == "str":
                    msgstrs[-1] += text
        if msgid:
            entries.append((fuzzy, msgid, msgstrs))
    return entries


@pytest.mark.parametrize("language", ["fa", "ru"])
def test_every_message_is_translated(language: str) -> None:
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    entries = _entries(po)
    assert len(entries) > 500
    untranslated = [msgid for fuzzy, msgid, msgstrs in entries if fuzzy or not all(msgstrs)]
    assert untranslated == []


@pytest.mark.parametrize("language", ["fa", "ru"])
def test_compiled_catalogue_matches_its_source(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = [
        msgid
        for _fuzzy, msgid, msgstrs in _entries(folder / "django.po")
        if len(msgstrs) == 1 and catalogue.gettext(_unescape(msgid)) != _unescape(msgstrs[0])
    ]
    assert stale == []
