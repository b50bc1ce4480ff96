"""Demo data of loyalty: earn rules, three tiers with offers, and the points the demo's history earns."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from navid.customers.models import ProductType
from navid.loyalty import services
from navid.loyalty.models import EarnKind, EarnRule, PointsEntry, Tier
from navid.offers.models import Offer

DEMO_HISTORY_DAYS = 3 * 365  # the rules earn for the demo's transactions and products of the last three years
# tier code -> (English, Persian, Russian, points earned in 12 months, product codes of the tier's offers)
DEMO_TIERS: dict[str, tuple[str, str, str, int, tuple[str, ...]]] = {
    "silver": ("Silver", "نقره‌ای", "Серебряный", 300, ("debit-card",)),
    "gold": ("Gold", "طلایی", "Золотой", 1000, ("credit-card", "savings-deposit")),
    "platinum": ("Platinum", "پلاتینی", "Платиновый", 3000, ("term-deposit", "safe-deposit-box")),
}


@dataclass(frozen=True)
class LoyaltyDemoReport:
    rules: int
    tiers: int
    entries: int
    customers_in_tiers: int
    seconds: float


def loyalty_demo_seed(*, now: dt.datetime | None = None) -> LoyaltyDemoReport:
    """Earn rules and tiers (once), then the points of the demo's history, expiry and tiers, set-based."""
    started = time.perf_counter()
    now = now or timezone.now()
    since = timezone.localdate(now) - dt.timedelta(days=DEMO_HISTORY_DAYS)
    rules = tiers = 0
    with transaction.atomic():
        if not EarnRule.objects.exists():
            card = ProductType.objects.filter(code="credit-card").first()
            specs: list[dict[str, object]] = [
                {
                    "kind": EarnKind.TRANSACTION,
                    "points": 1,
                    "amount_unit": Decimal("1000000"),
                    "validity_months": 24,
                },
                {
                    "kind": EarnKind.TRANSACTION,
                    "points": 2,
                    "amount_unit": Decimal("1000000"),
                    "transaction_kind": "payment",
                    "validity_months": 24,
                },
                {"kind": EarnKind.PRODUCT_OPENED, "points": 100, "validity_months": 24},
                {"kind": EarnKind.SURVEY_ANSWERED, "points": 50, "validity_months": 12},
                {"kind": EarnKind.MANUAL, "points": 1, "amount_unit": Decimal("1"), "validity_months": 12},
            ]
            if card is not None:
                specs.append(
                    {
                        "kind": EarnKind.PRODUCT_OPENED,
                        "points": 300,
                        "product_type": card,
                        "validity_months": 24,
                    }
                )
            for spec in specs:
                EarnRule.objects.create(valid_from=since, **spec)
                rules += 1
        for code, (english, persian, russian, threshold, products) in DEMO_TIERS.items():
            tier, made = Tier.objects.get_or_create(
                code=code,
                defaults={"name_en": english, "name_fa": persian, "name_ru": russian, "threshold": threshold},
            )
            if made:
                tier.offers.set(Offer.objects.filter(product_type__code__in=products, is_active=True))
                tiers += 1
    before = PointsEntry.objects.count()
    services.points_earn_pending(now=now)
    services.points_expire(now=now)
    placed = services.tiers_refresh(now=now)
    return LoyaltyDemoReport(
        rules=rules,
        tiers=tiers,
        entries=PointsEntry.objects.count() - before,
        customers_in_tiers=placed,
        seconds=time.perf_counter() - started,
    )
