"""The feature table of the propensity models: one row per customer, everything known before a day.

Columns are named, so a stored model asks for exactly the columns it was trained on:

- `held:<product code>`  1 if the customer held the product on the day, else 0
- `held_count`           products held on the day
- `tenure_days`          days since the first product still held was opened (NaN with none)
- `age_years`            full years from the birth date (NaN without one)
- `organisation`         1 for an organisation
- `customer`             1 if the customer had become a customer on or before the day
- `region:<code>`        1 for the customer's region
- `tx_count_90`, `tx_count_365`, `tx_in_90`, `tx_in_365`, `tx_out_90`, `tx_out_365`: transactions in the
  90/365 days up to the day; money in (deposits) and out (withdrawals, transfers, payments), as log(1 + sum)
- `contacts_90`, `contacts_365`, `complaints_365`: interactions in those windows

All of it comes from a few grouped queries per batch of customers (never one query per customer). Past campaign
responses are not a feature yet: campaigns sit above offers, so they must be passed in from there.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Aggregate, Count, Q, Sum
from django.utils import timezone

from navid.accounts.models import Region
from navid.customers.models import Customer, ProductHolding, ProductType, Transaction
from navid.interactions.models import Interaction, InteractionKind

WINDOWS = (90, 365)
_OUT_KINDS = (Transaction.TxKind.WITHDRAWAL, Transaction.TxKind.TRANSFER, Transaction.TxKind.PAYMENT)


def feature_names_default() -> list[str]:
    """The columns a model trained now uses: the fixed ones, one per product, one per region."""
    products = list(ProductType.objects.order_by("code").values_list("code", flat=True))
    regions = list(Region.objects.order_by("code").values_list("code", flat=True))
    fixed = ["held_count", "tenure_days", "age_years", "organisation", "customer"]
    for days in WINDOWS:
        fixed += [f"tx_count_{days}", f"tx_in_{days}", f"tx_out_{days}", f"contacts_{days}"]
    fixed.append("complaints_365")
    return fixed + [f"held:{p}" for p in products] + [f"region:{r}" for r in regions]


@dataclass(frozen=True)
class FeatureTable:
    ids: np.ndarray  # customer ids, ascending
    values: np.ndarray  # len(ids) x len(names)
    names: tuple[str, ...]

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


def day_end(day: dt.date) -> dt.datetime:
    """The first instant after `day`, in the current time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


def _held_on(as_of: dt.date) -> Q:
    return Q(opened_on__lte=as_of) & (Q(closed_on__isnull=True) | Q(closed_on__gt=as_of))


def feature_table(*, customer_ids: Sequence[int], as_of: dt.date, names: Sequence[str]) -> FeatureTable:
    """The named features of the given customers on `as_of` (unknown names are all zero)."""
    ids = np.array(sorted(set(customer_ids)), dtype=np.int64)
    return feature_table_within(ids=ids, within=[int(i) for i in ids], as_of=as_of, names=names)


def feature_table_within(
    *, ids: np.ndarray, within: Any, as_of: dt.date, names: Sequence[str]
) -> FeatureTable:
    """The named features of the customers `ids` (ascending, distinct) on `as_of`.

    `within` selects the same customers for the queries' `customer_id__in`: the ids themselves for a few, or a
    subquery of them (a temporary table of a segment's members) so that each aggregate is one grouped query over
    the whole set instead of one per batch of ids. Every value is computed the same way either way.
    """
    values = np.zeros((len(ids), len(names)), dtype=float)
    column = {name: j for j, name in enumerate(names)}
    if len(ids) == 0:
        return FeatureTable(ids=ids, values=values, names=tuple(names))

    def rows_of(found: list[int]) -> np.ndarray:
        return np.searchsorted(ids, np.array(found, dtype=np.int64))

    def put(name: str, rows: np.ndarray, data: Sequence[float] | np.ndarray | float) -> None:
        j = column.get(name)
        if j is not None and len(rows):
            values[rows, j] = data

    people = list(
        Customer.objects.filter(pk__in=within)
        .order_by()
        .values_list("pk", "birth_date", "kind", "region__code", "customer_since")
    )
    rows = rows_of([p[0] for p in people])
    ages = []
    for _cid, birth, _kind, _region, _since in people:
        age = math.nan
        if birth is not None:
            age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
        ages.append(age)
    put("age_years", rows, ages)
    put("organisation", rows, [1.0 if p[2] == "organisation" else 0.0 for p in people])
    put("customer", rows, [1.0 if p[4] is not None and p[4] <= as_of else 0.0 for p in people])
    by_region: dict[str, list[int]] = {}
    for i, person in enumerate(people):
        if person[3] is not None:
            by_region.setdefault(person[3], []).append(i)
    for region_code, where in by_region.items():
        put(f"region:{region_code}", rows[where], 1.0)
    del people

    held = list(
        ProductHolding.objects.filter(_held_on(as_of), customer_id__in=within)
        .order_by()
        .values_list("customer_id", "product_type__code", "opened_on")
    )
    rows = rows_of([h[0] for h in held])
    by_product: dict[str, list[int]] = {}
    for i, holding in enumerate(held):
        by_product.setdefault(holding[1], []).append(i)
    for code, where in by_product.items():
        put(f"held:{code}", rows[where], 1.0)
    held_count = np.bincount(rows, minlength=len(ids)).astype(float)
    first_opened = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_opened, rows, np.array([h[2].toordinal() for h in held], dtype=np.int64))
    has = held_count > 0
    put("held_count", np.flatnonzero(has), held_count[has])
    put("tenure_days", np.arange(len(ids)), np.where(has, as_of.toordinal() - first_opened, math.nan))
    del held

    end = day_end(as_of)
    tx_aggregates: dict[str, Aggregate] = {}
    contact_aggregates: dict[str, Aggregate] = {}
    for days in WINDOWS:
        recent = Q(occurred_at__gte=end - dt.timedelta(days=days))
        tx_aggregates[f"tx_count_{days}"] = Count("pk", filter=recent)
        tx_aggregates[f"tx_in_{days}"] = Sum("amount", filter=recent & Q(kind=Transaction.TxKind.DEPOSIT))
        tx_aggregates[f"tx_out_{days}"] = Sum("amount", filter=recent & Q(kind__in=_OUT_KINDS))
        contact_aggregates[f"contacts_{days}"] = Count("pk", filter=recent)
    contact_aggregates["complaints_365"] = Count(
        "pk", filter=Q(occurred_at__gte=end - dt.timedelta(days=365), kind=InteractionKind.COMPLAINT)
    )
    year = {
        "customer_id__in": within,
        "occurred_at__gte": end - dt.timedelta(days=365),
        "occurred_at__lt": end,
    }
    for model, aggregates in ((Transaction, tx_aggregates), (Interaction, contact_aggregates)):
        wanted = {name: aggregate for name, aggregate in aggregates.items() if name in column}
        if not wanted:
            continue
        found = list(
            model.objects.filter(**year)
            .order_by()
            .values("customer_id")
            .annotate(**wanted)
            .values_list("customer_id", *wanted)
        )
        rows = rows_of([row[0] for row in found])
        for k, name in enumerate(wanted, start=1):
            raw = [float(row[k] or 0) for row in found]
            put(name, rows, [math.log1p(v) for v in raw] if name.startswith(("tx_in", "tx_out")) else raw)
    return FeatureTable(ids=ids, values=values, names=tuple(names))
