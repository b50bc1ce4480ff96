"""The form of the contact policy page; it parses input and leaves the rules to `policy.contact_policy_update`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Field
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from navid.campaigns.models import CampaignChannel, ContactPolicy

# Sections of the page: (title, fields).
SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (
        _("Consent: what a missing consent record means"),
        ("email_without_consent", "sms_without_consent", "phone_without_consent", "mail_without_consent"),
    ),
    (_("Quiet hours and days off"), ("quiet_start", "quiet_end", "quiet_channels", "weekend_days")),
    (
        _("How often a customer may be contacted"),
        ("max_contacts", "max_contacts_per_channel", "period_days", "min_gap_days"),
    ),
)


def _field(name: str) -> Field[Any, Any]:
    field = ContactPolicy._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _label(name: str) -> Any:
    return _field(name).verbose_name


def _help(name: str) -> Any:
    return _field(name).help_text


class ContactPolicyForm(forms.Form):
    """Every setting of the bank's contact policy."""

    email_without_consent = forms.BooleanField(label=_label("email_without_consent"), required=False)
    sms_without_consent = forms.BooleanField(label=_label("sms_without_consent"), required=False)
    phone_without_consent = forms.BooleanField(label=_label("phone_without_consent"), required=False)
    mail_without_consent = forms.BooleanField(label=_label("mail_without_consent"), required=False)
    quiet_start = forms.TimeField(
        label=_label("quiet_start"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_end = forms.TimeField(
        label=_label("quiet_end"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("The same time as the start means no quiet hours."),
    )
    quiet_channels = forms.MultipleChoiceField(
        label=_label("quiet_channels"),
        choices=CampaignChannel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Messages on these channels wait for the end of quiet hours and days off."),
    )
    weekend_days = forms.TypedMultipleChoiceField(
        label=_label("weekend_days"),
        choices=sorted(WEEKDAYS.items()),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("In the customer's time zone (the time zone of the customer's region)."),
    )
    max_contacts = forms.IntegerField(
        label=_label("max_contacts"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_help("max_contacts"),
    )
    max_contacts_per_channel = forms.IntegerField(
        label=_label("max_contacts_per_channel"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_help("max_contacts_per_channel"),
    )
    period_days = forms.IntegerField(label=_label("period_days"), min_value=1, max_value=365)
    min_gap_days = forms.IntegerField(
        label=_label("min_gap_days"), min_value=0, max_value=90, help_text=_help("min_gap_days")
    )

    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
            else:
                widget.attrs["class"] = "form-control"
            field.disabled = read_only

    @staticmethod
    def initial_from(policy: ContactPolicy) -> dict[str, Any]:
        """The form's initial values from the saved policy."""
        return {name: getattr(policy, name) for name in ContactPolicyForm.base_fields}

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        if field in self.fields:
            widget = self.fields[field].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The bound fields grouped as the page shows them."""
        return [(title, [self[name] for name in names]) for title, names in SECTIONS]
