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
    position = {int(cid): i for i, cid in enumerate(ids)}
    values = np.zeros((len(ids), len(names)), dtype=float)
    column = {name: j for j, name in enumerate(names)}
    if len(ids) == 0:
        return FeatureTable(ids=ids, values=values, names=tuple(names))
    id_list = [int(i) for i in ids]

    def put(name: str, cid: int, value: float) -> None:
        j = column.get(name)
        if j is not None:
            values[position[cid], j] = value

    region_codes = dict(Region.objects.values_list("pk", "code"))
    for cid, birth, kind, region_id, since in Customer.objects.filter(pk__in=id_list).values_list(
        "pk", "birth_date", "kind", "region_id", "customer_since"
    ):
        age = math.nan
        if birth is not None:
            age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
        put("age_years", cid, age)
        put("organisation", cid, 1.0 if kind == "organisation" else 0.0)
        put("customer", cid, 1.0 if since is not None and since <= as_of else 0.0)
        if region_id is not None:
            put(f"region:{region_codes.get(region_id)}", cid, 1.0)

    product_codes = dict(ProductType.objects.values_list("pk", "code"))
    held_count: dict[int, int] = {}
    first_opened: dict[int, dt.date] = {}
    held = ProductHolding.objects.filter(_held_on(as_of), customer_id__in=id_list)
    for cid, product_id, opened in held.values_list("customer_id", "product_type_id", "opened_on"):
        put(f"held:{product_codes[product_id]}", cid, 1.0)
        held_count[cid] = held_count.get(cid, 0) + 1
        first_opened[cid] = min(opened, first_opened.get(cid, opened))
    j_tenure = column.get("tenure_days")
    if j_tenure is not None:
        values[:, j_tenure] = math.nan
    for cid, count in held_count.items():
        put("held_count", cid, float(count))
        put("tenure_days", cid, float((as_of - first_opened[cid]).days))

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
        "customer_id__in": id_list,
        "occurred_at__gte": end - dt.timedelta(days=365),
        "occurred_at__lt": end,
    }
    for model, aggregates in ((Transaction, tx_aggregates), (Interaction, contact_aggregates)):
        rows = model.objects.filter(**year).order_by().values("customer_id").annotate(**aggregates)
        for row in rows:
            cid = row["customer_id"]
            for name in aggregates:
                value = float(row[name] or 0)
                put(name, cid, math.log1p(value) if name.startswith(("tx_in", "tx_out")) else value)
    return FeatureTable(ids=ids, values=values, names=tuple(names))
