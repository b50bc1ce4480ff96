import datetime as dt

import pytest

from navid.core.dates import InvalidDate, format_date, parse_date
from navid.core.phones import InvalidPhone, normalize_phone
from navid.core.text import clean_text, digits_only, search_key, to_persian_digits


def test_search_key_folds_arabic_letters_digits_and_zwnj() -> None:
    assert search_key("علي كريمي") == search_key("علی کریمی") == "علی کریمی"
    assert search_key("مهر\u200cآفرین ١٢٣ ۴۵۶") == "مهر آفرین 123 456"
    assert search_key("Ёлкин ИВАН") == "елкин иван"


def test_clean_text_keeps_zwnj_and_drops_control_characters() -> None:
    assert clean_text("  علي\u200cرضا\x00  كاظمي ") == "علی\u200cرضا کاظمی"


def test_digits() -> None:
    assert digits_only("۰۹۱۲-۱۲۳ ٤٥٦٧") == "09121234567"
    assert to_persian_digits("1403/01/02") == "۱۴۰۳/۰۱/۰۲"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("09121234567", "+989121234567"),
        ("۰۹۱۲ ۱۲۳ ۴۵۶۷", "+989121234567"),
        ("00989121234567", "+989121234567"),
        ("+7 916 123-45-67", "+79161234567"),
        ("021 8888 1234", "+982188881234"),
    ],
)
def test_phones_are_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw, default_region="IR") == expected


@pytest.mark.parametrize("raw", ["12", "0912", "hello", "+98 000 000 0000", ""])
def test_invalid_phones_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_dates_in_either_calendar() -> None:
    assert parse_date("2024-03-20") == dt.date(2024, 3, 20)
    assert parse_date("1403/01/01") == dt.date(2024, 3, 20)
    assert parse_date("۱۴۰۳/۰۱/۰۱") == dt.date(2024, 3, 20)


@pytest.mark.parametrize("raw", ["2023-02-30", "1403/13/01", "1402/12/30"])
def test_impossible_dates(raw: str) -> None:
    with pytest.raises(InvalidDate, match="impossible"):
        parse_date(raw)


def test_format_date_is_jalali_with_persian_digits_for_persian() -> None:
    assert format_date(dt.date(2024, 3, 20), "fa") == "۱۴۰۳/۰۱/۰۱"
    assert format_date(dt.date(2024, 3, 20), "ru") == "2024-03-20"
