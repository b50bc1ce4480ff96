"""Forms of the catalogue pages; the services check the values again (the API uses the same services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import Region
from navid.customers.models import PartyKind, ProductType
from navid.offers.models import Offer


def https_by_default(field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """Form fields as the model's, except that a web address typed without a scheme is taken as https://."""
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        formfield_callback = https_by_default
        fields = [
            "name",
            "product_type",
            "description",
            "valid_from",
            "valid_until",
            "value_to_bank",
            "landing_url",
            "is_active",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }


class RulesForm(forms.Form):
    """The eligibility rules of one product, field by field."""

    age_min = forms.IntegerField(label=_("minimum age"), required=False, min_value=0, max_value=150)
    age_max = forms.IntegerField(label=_("maximum age"), required=False, min_value=0, max_value=150)
    min_income = forms.DecimalField(
        label=_("minimum average monthly deposits"),
        required=False,
        min_value=0,
        max_digits=18,
        decimal_places=2,
        help_text=_("Deposits of the last 180 days divided by 6."),
    )
    regions = forms.MultipleChoiceField(label=_("regions (none = all)"), required=False)
    party_kinds = forms.MultipleChoiceField(
        label=_("kinds of customer (none = all)"), required=False, choices=PartyKind.choices
    )
    requires_any = forms.MultipleChoiceField(label=_("holds at least one of"), required=False)
    excludes = forms.MultipleChoiceField(label=_("holds none of"), required=False)
    max_credit_products = forms.IntegerField(
        label=_("fewer credit products held than"), required=False, min_value=1, max_value=100
    )
    no_overdrawn = forms.BooleanField(label=_("no overdrawn account"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regions = [(r.code, str(r)) for r in Region.objects.order_by("code")]
        products = [(p.code, str(p)) for p in ProductType.objects.order_by("sort_order", "code")]
        for name, choices in (("regions", regions), ("requires_any", products), ("excludes", products)):
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = choices
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-select"
            if isinstance(field, (forms.IntegerField, forms.DecimalField)):
                css = "form-control"
            field.widget.attrs.setdefault("class", css)

    def rules(self) -> dict[str, Any]:
        """The rule document of the cleaned form (empty values left out)."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", [], False)}
