import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from navid.customers.validation import _PLAIN_EMAIL, _clean_email, is_formula


@settings(max_examples=500, deadline=None)
@given(st.from_regex(_PLAIN_EMAIL, fullmatch=True))
def test_every_address_the_shortcut_accepts_django_accepts(address: str) -> None:
    if len(address) <= 254:
        validate_email(address)  # raises if the shortcut let through something Django would refuse


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ali.Rezaei@Mail.Example ", "ali.rezaei@mail.example"),
        ("user@xn--mgbh0fb.example", "user@xn--mgbh0fb.example"),
    ],
)
def test_emails_are_lowered_and_kept(raw: str, expected: str) -> None:
    assert _clean_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["a..b@mail.example", ".a@mail.example", "a@-mail.example", "a@mail", "a@@b.example"]
)
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="valid email"):
        _clean_email(raw)
    with pytest.raises(ValidationError):
        validate_email(raw)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("x")', True),
        ("\u00a0=cmd|' /C calc'!A0", True),
        ("  @SUM(A1)", True),
        ("-2+3", False),
        ("+98 912 123 4567", False),
        ("-cmd", True),
        ("Ali", False),
        ("", False),
    ],
)
def test_formula_cells_are_recognised(cell: str, expected: bool) -> None:
    assert is_formula(cell) is expected
