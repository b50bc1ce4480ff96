"""Forms of the loyalty pages; the services check the values (one validation path)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from navid.customers.forms import BootstrapForm
from navid.customers.models import ProductType, Transaction
from navid.loyalty.models import EarnKind, EarnRule, Tier
from navid.offers.models import Offer


class EarnRuleForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("earned for"), choices=EarnKind.choices)
    points = forms.CharField(label=_("points"))
    amount_unit = forms.CharField(
        label=_("per amount of"),
        required=False,
        help_text=_("Empty: the points are per event. Otherwise per each whole amount, e.g. 1,000,000 IRR."),
    )
    product_type = forms.ModelChoiceField(
        label=_("product"),
        queryset=ProductType.objects.all(),
        required=False,
        help_text=_("Products opened only."),
    )
    transaction_kind = forms.ChoiceField(
        label=_("transaction type"),
        choices=[("", "—"), *Transaction.TxKind.choices],
        required=False,
        help_text=_("Transactions only."),
    )
    validity_months = forms.CharField(
        label=_("valid for (months)"), required=False, help_text=_("Empty: the points never expire.")
    )
    valid_from = forms.DateField(
        label=_("earns for events from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    @classmethod
    def initial_of(cls, rule: EarnRule) -> dict[str, Any]:
        return {
            "kind": rule.kind,
            "points": rule.points,
            "amount_unit": rule.amount_unit or "",
            "product_type": rule.product_type_id,
            "transaction_kind": rule.transaction_kind,
            "validity_months": rule.validity_months or "",
            "valid_from": rule.valid_from,
            "is_active": rule.is_active,
        }


class TierForm(BootstrapForm):
    code = forms.CharField(label=_("code"), max_length=50)
    name_en = forms.CharField(label=_("name (English)"), max_length=100)
    name_fa = forms.CharField(label=_("name (Persian)"), max_length=100, required=False)
    name_ru = forms.CharField(label=_("name (Russian)"), max_length=100, required=False)
    threshold = forms.CharField(
        label=_("points earned in 12 months"), help_text=_("The least points earned in the last 12 months.")
    )
    offers = forms.ModelMultipleChoiceField(
        label=_("offers"),
        queryset=Offer.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    @classmethod
    def initial_of(cls, tier: Tier) -> dict[str, Any]:
        return {
            "code": tier.code,
            "name_en": tier.name_en,
            "name_fa": tier.name_fa,
            "name_ru": tier.name_ru,
            "threshold": tier.threshold,
            "offers": list(tier.offers.all()),
        }


class RedeemForm(BootstrapForm):
    points = forms.CharField(
        label=_("points to redeem"), widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)
