"""Forms of the interactions pages: they carry the text typed, and leave every rule to the shared validation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from navid.customers.forms import BootstrapForm
from navid.customers.models import ProductType
from navid.interactions.models import (
    ComplaintCategory,
    Direction,
    InteractionChannel,
    InteractionKind,
    Outcome,
)

_NONE = ("", "—")


def _select(label: Any, choices: list[tuple[str, Any]], *, required: bool = False) -> forms.CharField:
    """A drop-down whose value the service checks (so a form, the API and a feed give the same messages)."""
    return forms.CharField(label=label, required=required, widget=forms.Select(choices=choices))


def _codes(model: Any) -> list[tuple[str, Any]]:
    return [_NONE, *((item.code, str(item)) for item in model._default_manager.filter(is_active=True))]


class InteractionForm(BootstrapForm):
    """Log one interaction; channel and direction may be left for the kind to imply."""

    kind = _select(_("kind"), [_NONE, *InteractionKind.choices], required=True)
    direction = _select(_("direction"), [("", _("— (from the kind)")), *Direction.choices])
    channel = _select(_("channel"), [("", _("— (from the kind)")), *InteractionChannel.choices])
    occurred_at = forms.CharField(
        label=_("time"),
        max_length=64,
        help_text=_("YYYY-MM-DD HH:MM, or a Jalali date and time such as 1403/12/10 09:15"),
    )
    outcome = _select(_("outcome"), [_NONE, *Outcome.choices])
    duration_seconds = forms.CharField(label=_("duration (seconds)"), max_length=10, required=False)
    cost = forms.CharField(label=_("cost"), max_length=20, required=False)
    employee = forms.CharField(label=_("employee (username)"), max_length=150, required=False)
    rating = _select(_("rating (1–5)"), [_NONE, *((str(n), str(n)) for n in range(1, 6))])
    complaint_category = _select(_("complaint category"), [_NONE])
    returned_product = _select(_("returned product"), [_NONE])
    request_open = forms.BooleanField(label=_("still open (a request or a complaint)"), required=False)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["complaint_category"].widget.choices = _codes(ComplaintCategory)
        self.fields["returned_product"].widget.choices = _codes(ProductType)

    def values(self) -> dict[str, Any]:
        """The fields given, as typed, for interaction_log."""
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None, False)}


class IngestUploadForm(BootstrapForm):
    file = forms.FileField(label=_("file (CSV or JSON lines)"))
