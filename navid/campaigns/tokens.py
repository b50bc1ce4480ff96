"""Signed tokens and the public links built from them: open pixel, click-through, unsubscribe, RSVP,
survey.

A token names one outbox message and what it may be used for; it is signed with the secret key, so a customer
cannot guess another customer's link. The paths are fixed here, and `navid/campaigns/public_urls.py` serves them.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core import signing

_SALT = "navid.campaigns.message"
PURPOSES = ("open", "click", "unsubscribe", "rsvp", "survey")


def message_token(*, message_id: int, purpose: str) -> str:
    """A URL-safe signed token for one message and one purpose."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return signing.dumps([message_id, purpose], salt=_SALT, compress=True)


def message_token_read(*, token: str, purpose: str) -> int:
    """The message id of a token made for `purpose`; raises `signing.BadSignature` for any other token."""
    value = signing.loads(token, salt=_SALT)
    if not (
        isinstance(value, list) and len(value) == 2 and value[1] == purpose and isinstance(value[0], int)
    ):
        raise signing.BadSignature("token made for another purpose")
    return value[0]


def public_url(*, message_id: int, purpose: str, target: str = "") -> str:
    """The absolute link for a message; a click link carries its destination, which the signature does not cover
    because the destination is checked against the campaign's own links when clicked."""
    token = message_token(message_id=message_id, purpose=purpose)
    if purpose == "survey":  # served by the surveys app; it reads the token with message_token_read
        return f"{settings.NAVID_PUBLIC_URL}/s/{token}/"
    url = f"{settings.NAVID_PUBLIC_URL}/r/{purpose}/{token}/"
    return f"{url}?u={quote(target, safe='')}" if target else url
