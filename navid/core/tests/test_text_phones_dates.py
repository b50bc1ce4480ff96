import datetime as dt
import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from navid.core.dates import InvalidDate, format_date, parse_date
from navid.core.phones import InvalidPhone, _fast_e164, normalize_phone
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


_SHAPES = ["", "0", "8", "+0", "+07", "+98", "0098", "+7", "+1", "+44", "+49", "+380", "+971", "+90", "+9"]


@settings(max_examples=3000, deadline=None)
@given(
    shape=st.sampled_from(_SHAPES),
    lead=st.sampled_from(["9", "91", "912", "99", "21", "7", "70", "77", "4", "49", "800", "3", ""]),
    rest=st.text(alphabet="0123456789", min_size=0, max_size=13),
    region=st.sampled_from(["IR", "RU", "KZ", "DE", "US"]),
)
def test_fast_phone_path_agrees_with_phonenumbers(shape: str, lead: str, rest: str, region: str) -> None:
    raw = shape + lead + rest
    fast = _fast_e164(raw, region)
    if fast is None:
        return
    number = phonenumbers.parse(raw, region)
    assert phonenumbers.is_valid_number(number), raw
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == fast


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("09121234567", "IR", "+989121234567"),
        ("+989121234567", "IR", "+989121234567"),
        ("9121234567", "IR", "+989121234567"),
        ("+79161234567", "IR", "+79161234567"),
        ("89161234567", "RU", "+79161234567"),
        ("+77012345678", "RU", "+77012345678"),
        ("02188776655", "IR", "+982188776655"),
    ],
)
def test_plain_numbers_take_the_fast_path(raw: str, region: str, expected: str) -> None:
    assert _fast_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["0912 123 4567", "+98 (912) 123-4567", "0912123456", "+800 1234 5678", "+7 800 123 45 67"]
)
def test_other_shapes_are_left_to_phonenumbers(raw: str) -> None:
    assert _fast_e164(raw, "IR") is None


_SPACES_REF = re.compile(r"\s+")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_ascii_fast_paths_give_the_general_result(value: str) -> None:
    # The general path of search_key and clean_text, written out: what the ASCII shortcuts must equal.
    assert search_key(value) == _SPACES_REF.sub(" ", value).strip().casefold()
    if value.isprintable():
        assert clean_text(value) == _SPACES_REF.sub(" ", value).strip()


def test_digits_only_and_iso_dates_keep_their_meaning() -> None:
    assert digits_only("۰۱۲-٣٤ 5") == "012345"
    assert digits_only("0012345678") == "0012345678"
    assert parse_date("1403-01-01") == dt.date(2024, 3, 20)  # an ISO-looking Jalali date is still Jalali
    with pytest.raises(InvalidDate):
        parse_date("2023-02-29")
