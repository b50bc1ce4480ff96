from typing import Any

import pytest
from django.core import signing

from navid.campaigns.tokens import message_token, message_token_read, public_url


def test_a_token_reads_back_only_for_its_own_purpose() -> None:
    token = message_token(message_id=42, purpose="open")
    assert message_token_read(token=token, purpose="open") == 42
    with pytest.raises(signing.BadSignature):
        message_token_read(token=token, purpose="unsubscribe")
    with pytest.raises(signing.BadSignature):
        message_token_read(token=token[:-2] + "xx", purpose="open")


def test_public_url_is_absolute_and_quotes_the_destination(settings: Any) -> None:
    settings.NAVID_PUBLIC_URL = "https://crm.bank.example"
    url = public_url(message_id=7, purpose="click", target="https://bank.example/a?b=1&c=2")
    token = message_token(message_id=7, purpose="click")
    assert (
        url == f"https://crm.bank.example/r/click/{token}/?u=https%3A%2F%2Fbank.example%2Fa%3Fb%3D1%26c%3D2"
    )
