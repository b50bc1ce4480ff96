from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from navid.channels.base import ChannelUnavailable, Outgoing, SendResult
from navid.channels.mail import (
    HEADER_BRAND_FOOTER,
    HEADER_BRAND_HEADER,
    HEADER_POSTAL_CODE,
    HEADER_RECIPIENT,
    LetterResult,
    MailAdapter,
    PostageTable,
)

POSTAGE = PostageTable(first_page=Decimal("25000"), extra_page=Decimal("5000"))
PERSIAN_BODY = "مریم عزیز، بانک نوید سپرده‌ی تازه‌ای برای شما دارد."


def _letter(key: str, language: str, **fields: object) -> Outgoing:
    values: dict[str, object] = {
        "key": key,
        "to": "Tehran, Vali-e Asr St. 12",
        "language": language,
        "subject": "An offer",
        "text": "Dear customer, open a deposit with us.",
        "sender": "Navid Bank",
        "headers": {HEADER_POSTAL_CODE: "1234567890", HEADER_RECIPIENT: "A. Customer"},
    }
    values.update(fields)
    return Outgoing(**values)  # type: ignore[arg-type]


def _pdf(adapter: MailAdapter) -> PdfReader:
    assert adapter.last_pdf is not None
    return PdfReader(adapter.last_pdf)


def _persian() -> Outgoing:
    return _letter(
        "1:1:10:mail",
        "fa",
        to="تهران، خیابان ولیعصر\nکوچه‌ی بهار",
        subject="پیشنهاد ویژه",
        text=PERSIAN_BODY,
        headers={
            HEADER_POSTAL_CODE: "1415913311",
            HEADER_RECIPIENT: "مریم احمدی",
            HEADER_BRAND_HEADER: "بانک نوید",
            HEADER_BRAND_FOOTER: "Navid Bank",
        },
    )


def _russian() -> Outgoing:
    return _letter(
        "1:1:11:mail",
        "ru",
        to="Москва, Тверская ул., 1",
        subject="Предложение",
        text="Здравствуйте, Иван! Откройте вклад.",
        headers={HEADER_POSTAL_CODE: "125009", HEADER_RECIPIENT: "Иван Петров"},
    )


def _long_english() -> Outgoing:
    return _letter("1:1:12:mail", "en", text="\n".join(f"Paragraph {n} of the terms." for n in range(45)))


def test_one_pdf_per_batch_with_each_letter_on_its_own_pages_and_an_exact_manifest(tmp_path: Path) -> None:
    adapter = MailAdapter(output_dir=tmp_path, postage=POSTAGE)
    results = adapter.send_many([_persian(), _russian(), _long_english()])

    assert adapter.last_pdf is not None and adapter.last_manifest is not None
    name = adapter.last_pdf.name
    assert results == [
        LetterResult(key="1:1:10:mail", ok=True, provider_id=f"{name}#1", parts=1, postage=Decimal("25000")),
        LetterResult(key="1:1:11:mail", ok=True, provider_id=f"{name}#2", parts=1, postage=Decimal("25000")),
        LetterResult(key="1:1:12:mail", ok=True, provider_id=f"{name}#3", parts=2, postage=Decimal("30000")),
    ]
    assert len(_pdf(adapter).pages) == 4
    assert adapter.last_manifest.read_text(encoding="utf-8").splitlines() == [
        "key,name,address,postal_code,pages,postage",
        "1:1:10:mail,مریم احمدی,تهران، خیابان ولیعصر، کوچه‌ی بهار,1415913311,1,25000.00",
        '1:1:11:mail,Иван Петров,"Москва, Тверская ул., 1",125009,1,25000.00',
        '1:1:12:mail,A. Customer,"Tehran, Vali-e Asr St. 12",1234567890,2,30000.00',
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, adapter.last_manifest.name])


def test_persian_is_shaped_and_laid_out_right_to_left(tmp_path: Path) -> None:
    adapter = MailAdapter(output_dir=tmp_path, postage=POSTAGE)
    adapter.send_many([_persian()])
    page = _pdf(adapter).pages[0]

    # pypdf reads right-to-left runs back into logical order, so the text comes back as written only if the
    # letters were placed right to left on the page.
    assert page.extract_text().splitlines() == [
        "بانک نوید",
        "مریم احمدی",
        "تهران، خیابان ولیعصر",
        "کوچه‌ی بهار",
        "1415913311",
        "پیشنهاد ویژه",
        PERSIAN_BODY,
        "Navid Bank",
    ]
    # Shaped: the embedded Persian font holds the joined forms, e.g. beh at the start of a word (U+FE91) and alef
    # at its end (U+FE8E) in "بانک", not only the letters' isolated forms.
    glyphs: set[str] = set()
    resources: Any = page["/Resources"]
    fonts = resources["/Font"]
    for reference in fonts.values():
        font = reference.get_object()
        if "Vazirmatn" in str(font["/BaseFont"]):
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            glyphs |= set(
                TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data())).getGlyphOrder()
            )
    assert {"uniFE91", "uniFE8E"} <= glyphs


def test_russian_and_english_read_left_to_right(tmp_path: Path) -> None:
    adapter = MailAdapter(output_dir=tmp_path)
    adapter.send_many([_russian()])
    text = _pdf(adapter).pages[0].extract_text().splitlines()
    assert text[1:] == [
        "Иван Петров",
        "Москва, Тверская ул., 1",
        "125009",
        "Предложение",
        "Здравствуйте, Иван! Откройте вклад.",
    ]


def test_a_letter_without_address_or_postal_code_is_refused_and_the_others_go(tmp_path: Path) -> None:
    adapter = MailAdapter(output_dir=tmp_path, postage=POSTAGE)
    results = adapter.send_many(
        [_letter("a", "en", to=" "), _letter("b", "en", headers={}), _letter("c", "en", text=""), _russian()]
    )
    assert results[:3] == [
        SendResult(key="a", ok=False, permanent=True, error="no postal address"),
        SendResult(key="b", ok=False, permanent=True, error="no postal code"),
        SendResult(key="c", ok=False, permanent=True, error="the letter has no text"),
    ]
    assert results[3].ok and len(_pdf(adapter).pages) == 1


def test_a_retried_batch_rewrites_the_same_files(tmp_path: Path) -> None:
    adapter = MailAdapter(output_dir=tmp_path)
    first = adapter.send_many([_russian()])
    again = adapter.send_many([_russian()])
    assert first == again
    assert len(list(tmp_path.iterdir())) == 2


def test_an_unwritable_folder_makes_the_channel_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ChannelUnavailable):
        MailAdapter(output_dir=blocker / "letters").send_many([_russian()])
