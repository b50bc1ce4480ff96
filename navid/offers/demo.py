"""Demo data of offers: an offer and eligibility rules per demo product, the cross-product matrix, the models."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from navid.customers.models import ProductType
from navid.offers.crossproduct import cross_product_compute
from navid.offers.eligibility import rules_parse
from navid.offers.models import Offer, ProductRule
from navid.offers.propensity import propensity_train_all

# product code -> (offer name, value to the bank in rials, eligibility rules)
DEMO_OFFERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "current-account": ("Free current account for a year", "2000000", {"age_min": 18}),
    "savings-deposit": ("Savings deposit at a bonus rate", "5000000", {"age_min": 18}),
    "term-deposit": (
        "One-year term deposit",
        "12000000",
        {"age_min": 18, "requires_any": ["current-account"]},
    ),
    "loan": (
        "Personal loan at a reduced rate",
        "40000000",
        {
            "age_min": 21,
            "age_max": 65,
            "max_credit_products": 2,
            "no_overdrawn": True,
            "party_kinds": ["person"],
        },
    ),
    "mortgage": (
        "First-home mortgage",
        "150000000",
        {
            "age_min": 25,
            "age_max": 60,
            "max_credit_products": 1,
            "no_overdrawn": True,
            "excludes": ["mortgage"],
        },
    ),
    "credit-card": (
        "Credit card without an annual fee",
        "8000000",
        {"age_min": 21, "max_credit_products": 2, "no_overdrawn": True, "requires_any": ["current-account"]},
    ),
    "debit-card": (
        "Debit card with cash back",
        "1500000",
        {"requires_any": ["current-account", "savings-deposit"]},
    ),
    "internet-banking": ("Internet banking sign-up", "500000", {}),
    "safe-deposit-box": ("Safe deposit box, first year free", "3000000", {"age_min": 18}),
}


@dataclass(frozen=True)
class DemoReport:
    offers: int
    pairs: int
    models: int
    seconds: float


def offers_demo_seed(*, train: bool = True) -> DemoReport:
    """Offers and rules for the demo products that exist (once), the matrix, and models unless `train` is False."""
    started = time.perf_counter()
    made = 0
    with transaction.atomic():
        for product in ProductType.objects.filter(code__in=DEMO_OFFERS):
            name, value, rules = DEMO_OFFERS[product.code]
            if not Offer.objects.filter(product_type=product).exists():
                Offer.objects.create(
                    name=name,
                    product_type=product,
                    value_to_bank=Decimal(value),
                    landing_url=f"https://bank.example/offers/{product.code}",
                )
                made += 1
            ProductRule.objects.get_or_create(
                product_type=product,
                defaults={"rules": rules_parse(rules).model_dump(mode="json", exclude_defaults=True)},
            )
    pairs = cross_product_compute()
    models = propensity_train_all().trained if train else 0
    return DemoReport(offers=made, pairs=pairs, models=models, seconds=time.perf_counter() - started)
