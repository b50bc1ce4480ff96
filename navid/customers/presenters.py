"""How a customer is shown to a user: national IDs masked for roles that do not need them."""

from __future__ import annotations

from typing import Any

from navid.accounts.selectors import user_sees_national_id


def mask_national_id(value: str | None) -> str:
    """All but the last three digits hidden."""
    if not value:
        return ""
    return "•" * (len(value) - 3) + value[-3:]


def national_id_for(*, user: Any, value: str | None) -> str:
    """The national ID as this user may see it."""
    return (value or "") if user_sees_national_id(user=user) else mask_national_id(value)
