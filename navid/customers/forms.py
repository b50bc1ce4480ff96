"""Forms of the customers pages; they parse input and leave the rules to the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import Branch, Region
from navid.customers.models import (
    Channel,
    ConsentPurpose,
    Industry,
    Language,
    PartyKind,
    PartyStatus,
    ProspectRank,
    ProspectStatus,
    ProspectType,
)
from navid.customers.validation import CUSTOMER_FIELDS


class BootstrapForm(forms.Form):
    """Gives every widget Bootstrap's class so that templates stay plain."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        if field in self.fields:
            widget = self.fields[field].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


def _ref(model: Any, label: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(model._default_manager.filter(is_active=True), required=False, label=label)


class CustomerForm(BootstrapForm):
    """Every editable field of a customer; the service validates national IDs, phones and the rest."""

    kind = forms.ChoiceField(label=_("kind"), choices=PartyKind.choices)
    status = forms.ChoiceField(label=_("status"), choices=PartyStatus.choices)
    first_name = forms.CharField(label=_("first name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("last name"), max_length=100, required=False)
    organisation_name = forms.CharField(label=_("organisation name"), max_length=200, required=False)
    national_id = forms.CharField(label=_("national ID"), max_length=20, required=False)
    birth_date = forms.CharField(
        label=_("birth or registration date"),
        required=False,
        help_text=_("YYYY-MM-DD, or a Jalali date such as 1370/05/12"),
    )
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    email = forms.CharField(label=_("email"), max_length=254, required=False)
    address = forms.CharField(label=_("address"), max_length=500, required=False)
    city = forms.CharField(label=_("city"), max_length=100, required=False)
    postal_code = forms.CharField(label=_("postal code"), max_length=20, required=False)
    region = _ref(Region, _("region"))
    branch = _ref(Branch, _("branch"))
    relationship_manager = forms.ModelChoiceField(
        get_user_model().objects.filter(is_active=True, groups__name="relationship_manager"),
        required=False,
        label=_("relationship manager"),
    )
    language = forms.ChoiceField(label=_("preferred language"), choices=Language.choices)
    preferred_channel = forms.ChoiceField(
        label=_("preferred channel"), choices=[("", "—"), *Channel.choices], required=False
    )
    prospect_type = _ref(ProspectType, _("prospect type"))
    prospect_rank = _ref(ProspectRank, _("prospect rank"))
    prospect_status = _ref(ProspectStatus, _("prospect status"))
    industry = _ref(Industry, _("industry"))
    do_not_contact = forms.BooleanField(label=_("do not contact"), required=False)
    customer_since = forms.CharField(label=_("customer since"), required=False)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in CUSTOMER_FIELDS if name in self.fields}


class ConsentForm(BootstrapForm):
    channel = forms.ChoiceField(label=_("channel"), choices=Channel.choices)
    purpose = forms.ChoiceField(label=_("purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label=_("answer"),
        choices=[("1", _("Yes, agrees")), ("0", _("No, refuses"))],
        coerce=lambda v: v == "1",
    )
    source = forms.CharField(label=_("source"), max_length=100, help_text=_("Where the answer came from"))


class ImportUploadForm(BootstrapForm):
    file = forms.FileField(label=_("file (CSV or XLSX)"))
    dry_run = forms.BooleanField(label=_("dry run: check only, write nothing"), required=False, initial=True)
    skip_invalid = forms.BooleanField(
        label=_("skip invalid rows (otherwise one bad row stops the whole import)"), required=False
    )


class MergeForm(forms.Form):
    survivor = forms.IntegerField(widget=forms.HiddenInput)
    duplicate = forms.IntegerField(widget=forms.HiddenInput)
