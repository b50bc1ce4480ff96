import pytest

from navid.core.national_id import (
    InvalidNationalId,
    NationalIdKind,
    classify_national_id,
    is_valid_ir_legal_id,
    is_valid_ir_national_code,
    is_valid_ru_inn,
)


@pytest.mark.parametrize("code", ["0012345679", "0499370899", "1111111121"])
def test_valid_iranian_national_codes(code: str) -> None:
    assert is_valid_ir_national_code(code)


@pytest.mark.parametrize("code", ["0012345678", "1111111111", "123", "00123456790", "abcdefghij"])
def test_invalid_iranian_national_codes(code: str) -> None:
    assert not is_valid_ir_national_code(code)


def test_iranian_national_code_checksum_agrees_with_the_formula_for_every_check_digit() -> None:
    # the byte arithmetic of the check against the weights 10..2 written out, over 20,000 spread-out bodies
    for n in range(0, 1_000_000_000, 50_000):
        body = f"{n:09d}"
        remainder = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
        for check in range(10):
            expected = (
                check == (remainder if remainder < 2 else 11 - remainder) and len(set(body + str(check))) > 1
            )
            assert is_valid_ir_national_code(body + str(check)) is expected


def test_persian_digits_are_converted_before_the_national_code_check() -> None:
    assert not is_valid_ir_national_code("۰۰۱۲۳۴۵۶۷۹")
    assert classify_national_id("۰۰۱۲۳۴۵۶۷۹", organisation=False) == ("0012345679", NationalIdKind.IR_PERSON)


def test_iranian_legal_entity_id_checksum() -> None:
    assert is_valid_ir_legal_id("14007650912")
    assert not is_valid_ir_legal_id("14007650913")
    assert not is_valid_ir_legal_id("1400765091")


@pytest.mark.parametrize("code", ["7707083893", "500100732259", "7830002293"])
def test_valid_russian_inn(code: str) -> None:
    assert is_valid_ru_inn(code)


@pytest.mark.parametrize("code", ["7707083894", "500100732250", "77070838", "12345678901"])
def test_invalid_russian_inn(code: str) -> None:
    assert not is_valid_ru_inn(code)


def test_classify_reads_persian_digits_and_kind() -> None:
    assert classify_national_id("۰۰۱۲۳۴۵۶۷۹", organisation=False) == ("0012345679", NationalIdKind.IR_PERSON)
    assert classify_national_id("500100732259", organisation=False) == (
        "500100732259",
        NationalIdKind.RU_INN_PERSON,
    )
    assert classify_national_id("7707083893", organisation=True) == (
        "7707083893",
        NationalIdKind.RU_INN_LEGAL,
    )
    assert classify_national_id("14007650912", organisation=True) == ("14007650912", NationalIdKind.IR_LEGAL)


def test_classify_rejects_a_person_code_for_an_organisation() -> None:
    with pytest.raises(InvalidNationalId):
        classify_national_id("0012345679", organisation=True)
