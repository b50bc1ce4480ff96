"""Points balance and tier as segment conditions, registered with `navid.segments.extensions` (ADR 0005).

`{"type": "loyalty_points", "test": {"operator": "gte", "value": 1000}}`: the balance (sum of the ledger; no
entries is 0). `{"type": "loyalty_tier", "tiers": ["gold", "platinum"]}`: the tier of the last nightly refresh
(`CustomerTier`). Both compile to one subquery with bound parameters.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import Field

from navid.core.errors import ValidationFailed
from navid.customers.models import Customer
from navid.loyalty.models import CustomerTier, PointsEntry, Tier
from navid.segments import extensions
from navid.segments.compiler import Context, expression_q, number_holds
from navid.segments.describe import OPERATOR_LABELS
from navid.segments.rules import Code, ConditionNode, NumberTest


class LoyaltyPointsCondition(ConditionNode):
    """The customer's points balance passes a test."""

    type: Literal["loyalty_points"]
    test: NumberTest


class LoyaltyTierCondition(ConditionNode):
    """The customer is in one of the tiers (as of the nightly refresh)."""

    type: Literal["loyalty_tier"]
    tiers: list[Code] = Field(min_length=1, max_length=50)


def _balance_expression() -> Any:
    own = PointsEntry.objects.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
    total = Subquery(
        own.annotate(total=Sum("points")).values("total"),
        output_field=DecimalField(max_digits=24, decimal_places=0),
    )
    return Coalesce(total, Value(Decimal(0), output_field=DecimalField(max_digits=24, decimal_places=0)))


def compile_points(node: LoyaltyPointsCondition, path: str, ctx: Context) -> Q:
    return expression_q(_balance_expression(), node.test)


def compile_tier(node: LoyaltyTierCondition, path: str, ctx: Context) -> Q:
    ids = dict(Tier.objects.filter(code__in=node.tiers).values_list("code", "pk"))
    unknown = [code for code in node.tiers if code not in ids]
    if unknown:
        raise ValidationFailed(
            {f"{path}.tiers": [_("unknown tier: %(codes)s") % {"codes": ", ".join(unknown)}]}
        )
    return Q(pk__in=CustomerTier.objects.filter(tier_id__in=list(ids.values())).values("customer_id"))


def describe_points(node: LoyaltyPointsCondition) -> str:
    value = node.test.value
    shown = " – ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
    return _("loyalty points balance %(op)s %(value)s") % {
        "op": OPERATOR_LABELS[node.test.operator],
        "value": shown,
    }


def describe_tier(node: LoyaltyTierCondition) -> str:
    names = dict((t.code, str(t)) for t in Tier.objects.filter(code__in=node.tiers))
    return _("loyalty tier is one of: %(names)s") % {"names": ", ".join(names.get(c, c) for c in node.tiers)}


def evaluate_points(node: LoyaltyPointsCondition, customer: Customer, now: dt.datetime) -> bool:
    balance = sum(PointsEntry.objects.filter(customer=customer).values_list("points", flat=True))
    return number_holds(Decimal(balance), node.test)


def evaluate_tier(node: LoyaltyTierCondition, customer: Customer, now: dt.datetime) -> bool:
    row = CustomerTier.objects.filter(customer=customer).select_related("tier").first()
    return row is not None and row.tier.code in node.tiers


def register() -> None:
    """Make both conditions part of the segment grammar (called from LoyaltyConfig.ready)."""
    extensions.register_condition(
        kind="loyalty_points",
        schema=LoyaltyPointsCondition,
        compile_fn=compile_points,
        describe_fn=describe_points,
        python_eval_fn=evaluate_points,
        label=gettext_lazy("loyalty points balance"),
        example={"test": {"operator": "gte", "value": 1000}},
    )
    extensions.register_condition(
        kind="loyalty_tier",
        schema=LoyaltyTierCondition,
        compile_fn=compile_tier,
        describe_fn=describe_tier,
        python_eval_fn=evaluate_tier,
        label=gettext_lazy("loyalty tier"),
        example={"tiers": ["gold"]},
    )
