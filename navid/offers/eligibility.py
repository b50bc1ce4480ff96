"""Eligibility rules of a product: the grammar, one Q, a Python check for one customer, numpy for many.

A rule document (stored in `ProductRule.rules`) looks like

    {"age_min": 18, "age_max": 70, "min_income": "30000000", "regions": ["tehran"],
     "party_kinds": ["person"], "requires_any": ["current-account"], "excludes": ["loan"],
     "max_credit_products": 2, "no_overdrawn": true}

Every key is optional; an empty document lets everyone in. Definitions (the SQL and the Python side share them):

- *held*: an open holding on the day `as_of` (opened on or before it, not closed on or before it);
- *age*: full years on `as_of` from `birth_date` (a person's birth, an organisation's registration); no date
  fails an age rule;
- *income*: the sum of deposit transactions in the INCOME_DAYS days up to and including `as_of`, divided by
  INCOME_MONTHS: the average monthly money coming in (amounts are not converted between currencies);
- *credit products held*: held products whose type is a credit product (`ProductType.is_credit`);
- *overdrawn*: a held product that is not a credit product with a negative balance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from navid.accounts.models import Region
from navid.core.errors import ValidationFailed
from navid.customers.models import Customer, ProductHolding, ProductType, Transaction

INCOME_DAYS = 180
INCOME_MONTHS = 6


class EligibilityRules(BaseModel):
    """The rules of one product; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age_min: int | None = Field(None, ge=0, le=150)
    age_max: int | None = Field(None, ge=0, le=150)
    min_income: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    regions: tuple[str, ...] = ()
    party_kinds: tuple[Literal["person", "organisation"], ...] = ()
    requires_any: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    max_credit_products: int | None = Field(None, ge=1, le=100)
    no_overdrawn: bool = False

    @model_validator(mode="after")
    def _ages_in_order(self) -> EligibilityRules:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("age_min is greater than age_max")
        return self


NO_RULES = EligibilityRules.model_validate({})


def rules_parse(data: Any) -> EligibilityRules:
    """Check a rule document: ValidationFailed naming each bad key, and unknown region or product codes."""
    try:
        parsed = EligibilityRules.model_validate(data or {})
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "rules"
            errors.setdefault(where, []).append(error["msg"])
        raise ValidationFailed(errors) from exc
    errors = {}
    unknown_regions = set(parsed.regions) - set(
        Region.objects.filter(code__in=parsed.regions).values_list("code", flat=True)
    )
    if unknown_regions:
        errors["regions"] = [
            _("Unknown region code: %(codes)s") % {"codes": ", ".join(sorted(unknown_regions))}
        ]
    for key in ("requires_any", "excludes"):
        codes = set(getattr(parsed, key))
        unknown = codes - set(ProductType.objects.filter(code__in=codes).values_list("code", flat=True))
        if unknown:
            errors[key] = [_("Unknown product code: %(codes)s") % {"codes": ", ".join(sorted(unknown))}]
    if errors:
        raise ValidationFailed(errors)
    return parsed


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def income_window(as_of: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the income window ending with the day `as_of`, in the current time zone."""
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
    return end - dt.timedelta(days=INCOME_DAYS), end


def _held_on(as_of: dt.date) -> Q:
    return Q(opened_on__lte=as_of) & (Q(closed_on__isnull=True) | Q(closed_on__gt=as_of))


# --- many customers: one Q ---


def eligibility_q(rules: EligibilityRules, *, as_of: dt.date) -> Q:
    """The customers the rules let in on `as_of`, as one Q on Customer (correlated subqueries)."""
    q = Q()
    if rules.age_min is not None:
        q &= Q(birth_date__lte=years_before(as_of, rules.age_min))
    if rules.age_max is not None:
        q &= Q(birth_date__gt=years_before(as_of, rules.age_max + 1))
    if rules.regions:
        q &= Q(region__code__in=rules.regions)
    if rules.party_kinds:
        q &= Q(kind__in=rules.party_kinds)
    held = ProductHolding.objects.filter(_held_on(as_of), customer=OuterRef("pk"))
    if rules.requires_any:
        q &= Q(Exists(held.filter(product_type__code__in=rules.requires_any)))
    if rules.excludes:
        q &= ~Q(Exists(held.filter(product_type__code__in=rules.excludes)))
    if rules.max_credit_products is not None:
        credit = held.filter(product_type__is_credit=True).order_by().values("customer")
        q &= ~Q(Exists(credit.annotate(n=Count("pk")).filter(n__gte=rules.max_credit_products)))
    if rules.no_overdrawn:
        q &= ~Q(Exists(held.filter(product_type__is_credit=False, balance__lt=0)))
    if rules.min_income:  # a minimum of 0 lets everyone in
        start, end = income_window(as_of)
        deposits = (
            Transaction.objects.filter(
                customer=OuterRef("pk"),
                kind=Transaction.TxKind.DEPOSIT,
                occurred_at__gte=start,
                occurred_at__lt=end,
            )
            .order_by()
            .values("customer")
        )
        threshold = rules.min_income * INCOME_MONTHS
        q &= Q(Exists(deposits.annotate(total=Sum("amount")).filter(total__gte=threshold)))
    return q


# --- one customer: facts, then Python ---


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules look at, for one customer on one day."""

    birth_date: dt.date | None
    region_code: str | None
    kind: str
    held: frozenset[str] = field(default_factory=frozenset)
    credit_holdings: int = 0
    overdrawn: bool = False
    deposits: Decimal = Decimal("0")
    held_ids: frozenset[int] = field(default_factory=frozenset)  # the ids of the products in `held`


def customer_facts(*, customer: Customer, as_of: dt.date) -> CustomerFacts:
    """Load the facts the rules need about `customer` (two small queries)."""
    held = list(
        ProductHolding.objects.filter(_held_on(as_of), customer=customer).values_list(
            "product_type__code", "product_type__is_credit", "balance", "product_type_id"
        )
    )
    start, end = income_window(as_of)
    total = (
        Transaction.objects.filter(
            customer=OuterRef("pk"),
            kind=Transaction.TxKind.DEPOSIT,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .order_by()
        .values("customer")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    region_code, deposits = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(deposits=Subquery(total))
        .values_list("region__code", "deposits")
        .first()
    ) or (None, None)
    return CustomerFacts(
        birth_date=customer.birth_date,
        region_code=region_code,
        kind=customer.kind,
        held=frozenset(code for code, _credit, _balance, _id in held),
        credit_holdings=sum(1 for _code, credit, _balance, _id in held if credit),
        overdrawn=any(not credit and balance < 0 for _code, credit, balance, _id in held),
        deposits=Decimal(deposits or 0),
        held_ids=frozenset(product_id for _code, _credit, _balance, product_id in held),
    )


def rules_failures(rules: EligibilityRules, *, facts: CustomerFacts, as_of: dt.date) -> list[str]:
    """The rules `facts` break, in words; empty when the customer is eligible."""
    failures: list[str] = []
    if rules.age_min is not None and (
        facts.birth_date is None or facts.birth_date > years_before(as_of, rules.age_min)
    ):
        failures.append(_("younger than %(age)s or no birth date") % {"age": rules.age_min})
    if rules.age_max is not None and (
        facts.birth_date is None or facts.birth_date <= years_before(as_of, rules.age_max + 1)
    ):
        failures.append(_("older than %(age)s or no birth date") % {"age": rules.age_max})
    if rules.regions and facts.region_code not in rules.regions:
        failures.append(_("not in a region the product is sold in"))
    if rules.party_kinds and facts.kind not in rules.party_kinds:
        failures.append(_("the product is not for this kind of customer"))
    if rules.requires_any and not facts.held & set(rules.requires_any):
        failures.append(_("holds none of the products required first"))
    if rules.excludes and facts.held & set(rules.excludes):
        failures.append(_("holds a product that excludes this one"))
    if rules.max_credit_products is not None and facts.credit_holdings >= rules.max_credit_products:
        failures.append(_("already holds %(count)s credit products") % {"count": facts.credit_holdings})
    if rules.no_overdrawn and facts.overdrawn:
        failures.append(_("an account is overdrawn"))
    if rules.min_income and facts.deposits < rules.min_income * INCOME_MONTHS:
        failures.append(_("income below the minimum"))
    return failures


def rules_describe(rules: EligibilityRules) -> list[str]:
    """The rules in words, one line each, for the catalogue page."""
    lines = []
    if rules.age_min is not None:
        lines.append(_("aged at least %(age)s") % {"age": rules.age_min})
    if rules.age_max is not None:
        lines.append(_("aged at most %(age)s") % {"age": rules.age_max})
    if rules.min_income:
        lines.append(_("average monthly deposits at least %(amount)s") % {"amount": rules.min_income})
    if rules.regions:
        lines.append(_("in the regions %(codes)s") % {"codes": ", ".join(rules.regions)})
    if rules.party_kinds:
        lines.append(_("customer kinds %(kinds)s") % {"kinds": ", ".join(rules.party_kinds)})
    if rules.requires_any:
        lines.append(_("holds one of %(codes)s") % {"codes": ", ".join(rules.requires_any)})
    if rules.excludes:
        lines.append(_("holds none of %(codes)s") % {"codes": ", ".join(rules.excludes)})
    if rules.max_credit_products is not None:
        lines.append(_("fewer than %(count)s credit products held") % {"count": rules.max_credit_products})
    if rules.no_overdrawn:
        lines.append(_("no overdrawn account"))
    return lines


# --- many customers at once: facts in arrays, rules in numpy ---


@dataclass(frozen=True)
class FactsFrame:
    """The facts of many customers on one day, one row per customer (ids ascending), for every rule at once.

    The same definitions as the Q and the one-customer check; built from three set-based queries whatever the
    number of customers and products, so a segment's eligibility for all products is one pass in numpy.
    """

    ids: np.ndarray
    birth: np.ndarray  # datetime64[D], NaT without a date
    region_code: np.ndarray  # object: the region's code or None
    kind: np.ndarray  # object
    product_ids: np.ndarray  # columns of `held`, ascending
    product_codes: dict[str, int]  # code -> column of `held`
    held: np.ndarray  # bool, len(ids) x len(product_ids)
    credit_holdings: np.ndarray  # int
    overdrawn: np.ndarray  # bool
    deposits: np.ndarray  # object: Decimal sums of the income window (0 without a deposit)


def facts_frame(*, ids: np.ndarray, within: Any, as_of: dt.date, with_deposits: bool = True) -> FactsFrame:
    """The facts of the customers `ids` (ascending, distinct), `within` selecting them (ids or a subquery)."""
    n = len(ids)
    products = list(ProductType.objects.order_by("pk").values_list("pk", "code", "is_credit"))
    product_ids = np.array([p[0] for p in products], dtype=np.int64)
    credit_products = np.array([p[2] for p in products], dtype=bool)
    regions = dict(Region.objects.values_list("pk", "code"))
    people = list(
        Customer.objects.filter(pk__in=within).order_by().values_list("pk", "birth_date", "kind", "region_id")
    )
    rows = np.searchsorted(ids, np.array([p[0] for p in people], dtype=np.int64))
    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    birth[rows] = np.array([p[1] for p in people], dtype="datetime64[D]")
    region_code = np.full(n, None, dtype=object)
    region_code[rows] = [regions.get(p[3]) if p[3] is not None else None for p in people]
    kind = np.full(n, "", dtype=object)
    kind[rows] = [p[2] for p in people]
    del people

    holdings = list(
        ProductHolding.objects.filter(_held_on(as_of), customer_id__in=within)
        .order_by()
        .values_list("customer_id", "product_type_id", "balance")
    )
    rows = np.searchsorted(ids, np.array([h[0] for h in holdings], dtype=np.int64))
    columns = np.searchsorted(product_ids, np.array([h[1] for h in holdings], dtype=np.int64))
    held = np.zeros((n, len(product_ids)), dtype=bool)
    held[rows, columns] = True
    credit = credit_products[columns] if len(columns) else np.zeros(0, dtype=bool)
    credit_holdings = np.bincount(rows[credit], minlength=n)
    negative = np.array([h[2] < 0 for h in holdings], dtype=bool)
    overdrawn = np.zeros(n, dtype=bool)
    overdrawn[rows[negative & ~credit]] = True
    del holdings

    deposits = np.full(n, Decimal("0"), dtype=object)
    if with_deposits:
        start, end = income_window(as_of)
        sums = list(
            Transaction.objects.filter(
                customer_id__in=within,
                kind=Transaction.TxKind.DEPOSIT,
                occurred_at__gte=start,
                occurred_at__lt=end,
            )
            .order_by()
            .values("customer_id")
            .annotate(total=Sum("amount"))
            .values_list("customer_id", "total")
        )
        rows = np.searchsorted(ids, np.array([s[0] for s in sums], dtype=np.int64))
        deposits[rows] = [Decimal(s[1] or 0) for s in sums]
    return FactsFrame(
        ids=ids,
        birth=birth,
        region_code=region_code,
        kind=kind,
        product_ids=product_ids,
        product_codes={p[1]: j for j, p in enumerate(products)},
        held=held,
        credit_holdings=credit_holdings,
        overdrawn=overdrawn,
        deposits=deposits,
    )


def _member_of(values: np.ndarray, allowed: tuple[str, ...]) -> np.ndarray:
    chosen = set(allowed)
    return np.fromiter((v in chosen for v in values), dtype=bool, count=len(values))


def rules_mask(rules: EligibilityRules, *, frame: FactsFrame, as_of: dt.date) -> np.ndarray:
    """Which customers of `frame` the rules let in on `as_of` (the same answer as `eligibility_q`)."""
    ok: np.ndarray = np.ones(len(frame.ids), dtype=bool)
    if rules.age_min is not None:
        ok &= frame.birth <= np.datetime64(years_before(as_of, rules.age_min))  # NaT compares False
    if rules.age_max is not None:
        ok &= frame.birth > np.datetime64(years_before(as_of, rules.age_max + 1))

    def holds_any(codes: tuple[str, ...]) -> np.ndarray:
        columns = [frame.product_codes[c] for c in codes if c in frame.product_codes]
        if not columns:
            return np.zeros(len(frame.ids), dtype=bool)
        return np.asarray(frame.held[:, columns].any(axis=1), dtype=bool)

    if rules.regions:
        ok &= _member_of(frame.region_code, rules.regions)
    if rules.party_kinds:
        ok &= _member_of(frame.kind, rules.party_kinds)
    if rules.requires_any:
        ok &= holds_any(rules.requires_any)
    if rules.excludes:
        ok &= ~holds_any(rules.excludes)
    if rules.max_credit_products is not None:
        ok &= frame.credit_holdings < rules.max_credit_products
    if rules.no_overdrawn:
        ok &= ~frame.overdrawn
    if rules.min_income:
        threshold = rules.min_income * INCOME_MONTHS
        ok &= np.array([total >= threshold for total in frame.deposits], dtype=bool)
    return ok
