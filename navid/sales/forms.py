"""Forms of sales: a lead entered by hand, a distribution rule; who may be given leads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from navid.accounts.roles import Role
from navid.accounts.selectors import user_roles
from navid.customers.models import ProductType
from navid.sales.models import ApplicationChannel, DistributionRule


def sellers() -> QuerySet[Any]:
    """Active employees who work leads (hold the permission to change them through a role)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__permissions__codename="change_lead",
            groups__permissions__content_type__app_label="sales",
        )
        .distinct()
        .order_by("username")
    )


def default_channel(user: Any) -> str:
    """The channel an employee most likely takes an application through."""
    return (
        ApplicationChannel.CONTACT_CENTRE.value
        if Role.AGENT in user_roles(user=user)
        else ApplicationChannel.BRANCH.value
    )


class LeadForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=ProductType.objects.filter(is_active=True), required=False, label=_("Product")
    )
    value = forms.DecimalField(
        label=_("Value"),
        required=False,
        min_value=Decimal("0"),
        max_digits=18,
        decimal_places=2,
        help_text=_("Empty means the value to the bank of the product's active offer."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000
    )


class DistributionRuleForm(forms.ModelForm):
    managers = forms.ModelMultipleChoiceField(queryset=sellers(), label=_("Managers"), required=False)

    class Meta:
        model = DistributionRule
        fields = [
            "position",
            "name",
            "region",
            "branch",
            "product_type",
            "language",
            "strategy",
            "managers",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        managers = self.fields["managers"]
        assert isinstance(managers, forms.ModelMultipleChoiceField)
        managers.queryset = sellers()
        for field in self.fields.values():
            css = (
                "form-check-input"
                if isinstance(field.widget, forms.CheckboxInput)
                else "form-select"
                if isinstance(field.widget, forms.Select | forms.SelectMultiple)
                else "form-control"
            )
            field.widget.attrs.setdefault("class", css)
