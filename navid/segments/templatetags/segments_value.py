"""`{% customer_value customer %}`: the customer's ranking, value, lifecycle and loyalty, for any page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.apps import apps

from navid.customers.models import Customer
from navid.segments.models import CustomerValue, LoyaltySettings, ValueSettings

register = template.Library()


def _plain(number: Decimal) -> str:
    """10.00 as "10", 7.50 as "7.5": no exponent, no trailing zeros."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.inclusion_tag("segments/_customer_value.html")
def customer_value(customer: Customer) -> dict[str, Any]:
    """What Navid last computed for the customer, with the settings that explain the figures."""
    value = CustomerValue.objects.filter(customer_id=customer.pk).first()
    loyalty = LoyaltySettings.load()
    return {
        "value": value,
        "alive_percent": None if value is None else round(100 * value.probability_alive),
        "currency": ValueSettings.load().reporting_currency,
        "loyalty": loyalty,
        "tenure_years": _plain(loyalty.tenure_full_years),
        "with_interactions": apps.is_installed("navid.interactions"),
    }
