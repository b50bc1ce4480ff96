"""Direct mail: print-ready PDF letters and the print house's CSV manifest, with postage as the cost.

The adapter turns a batch of rendered letters into one PDF (each letter starts on a new page) and one CSV
manifest beside it, named after the batch's keys so that a retried batch rewrites the same two files instead of
printing twice. Persian is shaped with HarfBuzz and laid out right to left; Russian and English left to right.

What the caller passes (the campaign's worker fills these from the same templates and brand as email and SMS):
- `Outgoing.to`: the postal address, lines separated by newlines; `Outgoing.subject` and `Outgoing.text`: the
  letter's subject and body, already personalised; `Outgoing.sender`: the sender's name.
- `Outgoing.headers`, every key optional except the postal code: the `HEADER_*` names below.

A letter's `SendResult.parts` is its number of pages; the result is a `LetterResult` whose `postage` is the cost
of sending it (the `PostageTable` of the adapter), the same figure as in the manifest.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from navid.channels.base import ChannelUnavailable, Outgoing, SendResult

FONT_DIR = Path(__file__).resolve().parent / "fonts"
PERSIAN_FONT = FONT_DIR / "Vazirmatn-Regular.ttf"
PERSIAN_FONT_BOLD = FONT_DIR / "Vazirmatn-Bold.ttf"
LATIN_CYRILLIC_FONT = FONT_DIR / "DejaVuSans.ttf"

HEADER_RECIPIENT = "X-Navid-Recipient"  # the addressee's name as printed on the letter
HEADER_POSTAL_CODE = "X-Navid-Postal-Code"  # required: a letter without one is refused
HEADER_BRAND_NAME = "X-Navid-Brand-Name"
HEADER_BRAND_HEADER = "X-Navid-Brand-Header"  # the line printed at the top of every letter
HEADER_BRAND_FOOTER = "X-Navid-Brand-Footer"
HEADER_BRAND_COLOR = "X-Navid-Brand-Color"  # "#rrggbb", the colour of the header band and the subject
HEADER_RETURN_ADDRESS = "X-Navid-Return-Address"
HEADER_DATE = "X-Navid-Date"  # the date as the letter shows it (already in the customer's calendar)

MANIFEST_COLUMNS = ("key", "name", "address", "postal_code", "pages", "postage")
RTL_LANGUAGES = frozenset({"fa", "ar"})
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT_COLOR = (11, 83, 148)


@dataclass(frozen=True)
class PostageTable:
    """What the post charges for one letter: a price for the first page and one for each page after it."""

    first_page: Decimal = Decimal("0")
    extra_page: Decimal = Decimal("0")

    def postage(self, pages: int) -> Decimal:
        """The postage of a letter of `pages` pages."""
        return self.first_page + self.extra_page * max(pages - 1, 0)


@dataclass(frozen=True)
class LetterResult(SendResult):
    """A letter's result with its postage (`parts` holds its pages)."""

    postage: Decimal = Decimal("0")


@dataclass(frozen=True)
class _Letter:
    message: Outgoing
    name: str
    postal_code: str


def _rgb(value: str) -> tuple[int, int, int]:
    if not _COLOR.match(value or ""):
        return _DEFAULT_COLOR
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _address_line(message: Outgoing) -> str:
    """The address on one line, its lines joined with the comma of the letter's language."""
    comma = "، " if message.language in RTL_LANGUAGES else ", "
    return comma.join(_one_line(line) for line in message.to.splitlines() if line.strip())


class MailAdapter:
    """Writes each batch of letters to `<output_dir>/letters-<digest>.pdf` with its `.csv` manifest."""

    channel = "mail"

    def __init__(self, *, output_dir: Path | str, postage: PostageTable | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.postage_table = postage or PostageTable()
        self.last_pdf: Path | None = None
        self._widths: dict[tuple[str, str, float, str], float] = {}
        self.last_manifest: Path | None = None

    # --- the interface ---

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Lay out the batch's letters in one PDF, write the manifest, and report pages and postage per letter."""
        results: dict[str, SendResult] = {}
        letters: list[_Letter] = []
        for message in messages:
            problem = self._problem(message)
            if problem:
                results[message.key] = SendResult(key=message.key, ok=False, permanent=True, error=problem)
                continue
            letters.append(
                _Letter(
                    message=message,
                    name=_one_line(message.headers.get(HEADER_RECIPIENT, "")),
                    postal_code=_one_line(message.headers[HEADER_POSTAL_CODE]),
                )
            )
        if letters:
            results.update(self._print(letters))
        return [results[message.key] for message in messages]

    def close(self) -> None:
        """Nothing stays open between batches."""

    # --- the letters ---

    @staticmethod
    def _problem(message: Outgoing) -> str:
        if not message.to.strip():
            return "no postal address"
        if not message.headers.get(HEADER_POSTAL_CODE, "").strip():
            return "no postal code"
        if not message.text.strip():
            return "the letter has no text"
        return ""

    def _print(self, letters: list[_Letter]) -> dict[str, SendResult]:
        digest = hashlib.sha256("\n".join(letter.message.key for letter in letters).encode()).hexdigest()[:20]
        pdf_path = self.output_dir / f"letters-{digest}.pdf"
        manifest_path = self.output_dir / f"letters-{digest}.csv"
        pdf = self._document()
        self._widths = {}
        rows: list[tuple[_Letter, int, Decimal]] = []
        for letter in letters:
            first = pdf.page_no() + 1
            self._letter(pdf, letter)
            pages = pdf.page_no() - first + 1
            rows.append((letter, pages, self.postage_table.postage(pages)))
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            # Written under temporary names and renamed, so the print house never picks up half a batch.
            pdf.output(str(pdf_path) + ".part")
            with open(str(manifest_path) + ".part", "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(MANIFEST_COLUMNS)
                for letter, pages, postage in rows:
                    writer.writerow(
                        [
                            letter.message.key,
                            letter.name,
                            _address_line(letter.message),
                            letter.postal_code,
                            pages,
                            f"{postage:.2f}",
                        ]
                    )
            os.replace(str(pdf_path) + ".part", pdf_path)
            os.replace(str(manifest_path) + ".part", manifest_path)
        except OSError as exc:
            raise ChannelUnavailable(f"cannot write letters to {self.output_dir}: {exc}") from exc
        self.last_pdf, self.last_manifest = pdf_path, manifest_path
        return {
            letter.message.key: LetterResult(
                key=letter.message.key,
                ok=True,
                provider_id=f"{pdf_path.name}#{index}",
                parts=pages,
                postage=postage,
            )
            for index, (letter, pages, postage) in enumerate(rows, start=1)
        }

    @staticmethod
    def _document() -> FPDF:
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(left=22, top=20, right=22)
        pdf.set_auto_page_break(auto=True, margin=25)
        pdf.add_font("Vazirmatn", style="", fname=str(PERSIAN_FONT))
        pdf.add_font("Vazirmatn", style="B", fname=str(PERSIAN_FONT_BOLD))
        pdf.add_font("DejaVu", style="", fname=str(LATIN_CYRILLIC_FONT))
        pdf.add_font("DejaVu", style="B", fname=str(LATIN_CYRILLIC_FONT))
        pdf.set_creator("Navid")
        return pdf

    def _width(self, pdf: FPDF, text: str) -> float:
        """The width of a word in the current font, shaped; measured once per batch."""
        key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, text)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = pdf.get_string_width(text)
        return width

    def _lines(self, pdf: FPDF, text: str) -> list[str]:
        """`text` broken into lines that fit the page, at spaces (a word wider than the page at letters).

        fpdf2's own `multi_cell` shapes the growing line again for every character it adds, which made a
        letter cost a tenth of a second; words are shaped once here (letters do not join across a space), and
        each line is shaped once more when it is drawn.
        """
        room = pdf.epw - 2 * pdf.c_margin
        space = self._width(pdf, " ")
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in text.split():
            width = self._width(pdf, word)
            while width > room:  # a long address or link: cut it where it no longer fits
                cut = len(word) - 1
                while cut > 1 and self._width(pdf, word[:cut]) > room:
                    cut -= 1
                if current:
                    lines.append(" ".join(current))
                    current, used = [], 0.0
                lines.append(word[:cut])
                word = word[cut:]
                width = self._width(pdf, word)
            needed = width if not current else used + space + width
            if current and needed > room:
                lines.append(" ".join(current))
                current, needed = [], width
            current.append(word)
            used = needed
        if current:
            lines.append(" ".join(current))
        return lines or [" "]

    def _paragraph(self, pdf: FPDF, text: str, height: float, align: str, *, fill: bool = False) -> None:
        for line in self._lines(pdf, text):
            pdf.cell(pdf.epw, height, line, align=align, fill=fill, new_x="LMARGIN", new_y="NEXT")

    def _letter(self, pdf: FPDF, letter: _Letter) -> None:
        message = letter.message
        headers = message.headers
        rtl = message.language in RTL_LANGUAGES
        main, other = ("Vazirmatn", "DejaVu") if rtl else ("DejaVu", "Vazirmatn")
        align = "R" if rtl else "L"
        pdf.set_text_shaping(use_shaping_engine=True)
        pdf.set_fallback_fonts([other])
        color = _rgb(headers.get(HEADER_BRAND_COLOR, ""))
        pdf.add_page()

        # The brand band: the same header and colours as the campaign's email.
        heading = headers.get(HEADER_BRAND_HEADER) or headers.get(HEADER_BRAND_NAME) or message.sender
        pdf.set_fill_color(*color)
        pdf.set_text_color(255, 255, 255)
        pdf.set_font(main, style="B", size=14)
        self._paragraph(pdf, _one_line(heading), 11, align, fill=True)
        pdf.set_text_color(0, 0, 0)
        return_address = headers.get(HEADER_RETURN_ADDRESS, "")
        pdf.set_font(main, size=8)
        if return_address:
            self._paragraph(pdf, _one_line(return_address), 5, align)
        pdf.ln(8)

        # The address block, in the window of a DL envelope.
        pdf.set_font(main, size=11)
        for line in [letter.name, *message.to.splitlines(), letter.postal_code]:
            if line.strip():
                self._paragraph(pdf, line.strip(), 6, align)
        pdf.ln(6)
        if headers.get(HEADER_DATE):
            pdf.set_font(main, size=10)
            self._paragraph(pdf, headers[HEADER_DATE], 6, align)
            pdf.ln(4)

        if message.subject:
            pdf.set_font(main, style="B", size=12)
            pdf.set_text_color(*color)
            self._paragraph(pdf, _one_line(message.subject), 7, align)
            pdf.set_text_color(0, 0, 0)
            pdf.ln(3)

        pdf.set_font(main, size=11)
        for paragraph in message.text.strip().split("\n"):
            if paragraph.strip():
                self._paragraph(pdf, paragraph.strip(), 6.5, align)
            else:
                pdf.ln(4)

        footer = headers.get(HEADER_BRAND_FOOTER, "")
        if footer:
            pdf.ln(8)
            pdf.set_font(main, size=8)
            pdf.set_text_color(90, 90, 90)
            self._paragraph(pdf, _one_line(footer), 4.5, align)
            pdf.set_text_color(0, 0, 0)
