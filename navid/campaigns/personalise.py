"""Personalisation fields of message templates: `{first_name}` and friends, and nothing else.

Templates are written by marketing staff, so they are not Django templates: only the names in `FIELDS` can be
used, a value is inserted as text (HTML-escaped in the HTML part by the caller), and an unknown field is an error
found when the template is saved, not when 100,000 messages are rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

FIELDS = {
    "first_name": _("first name"),
    "last_name": _("last name"),
    "full_name": _("full name"),
    "customer_number": _("customer number"),
    "branch": _("branch"),
    "offer": _("offer"),
    "offer_valid_until": _("offer valid until"),
    "unsubscribe_url": _("unsubscribe link"),
    "offer_url": _("offer link"),
    "rsvp_url": _("RSVP link"),
    "survey_url": _("survey link"),
}

_FIELD = re.compile(r"\{([a-z_]+)\}")


def template_fields_unknown(text: str) -> list[str]:
    """The field names used in `text` that are not personalisation fields, in order of appearance."""
    return [name for name in dict.fromkeys(_FIELD.findall(text)) if name not in FIELDS]


def personalise(text: str, values: Mapping[str, str]) -> str:
    """Fill the fields of `text` from `values`; a field with no value becomes empty."""
    return _FIELD.sub(lambda m: values.get(m.group(1), "") if m.group(1) in FIELDS else m.group(0), text)
