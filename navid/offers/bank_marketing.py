"""Reading the public telemarketing data set (UCI Bank Marketing, bank-additional) into the pipeline's arrays.

Used by `bench/propensity.py` and by the tests (on a committed sample). `duration` is left out: it is known only
after the call. Categorical columns become integer codes in order of first appearance (missing = NaN).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CATEGORICAL = (
    "job",
    "marital",
    "education",
    "default",
    "housing",
    "loan",
    "contact",
    "month",
    "day_of_week",
    "poutcome",
)
NUMERIC = (
    "age",
    "campaign",
    "pdays",
    "previous",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
)
LEFT_OUT = ("duration",)


@dataclass(frozen=True)
class Table:
    features: np.ndarray
    labels: np.ndarray
    columns: tuple[str, ...]
    categorical: tuple[int, ...]


def bank_marketing_load(path: Path) -> Table:
    """The file's rows, in file (time) order, as features and 0/1 labels (y = yes)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    if not rows:
        raise ValueError(f"{path}: no rows")
    missing = [c for c in (*CATEGORICAL, *NUMERIC, "y") if c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing)}")
    columns = (*NUMERIC, *CATEGORICAL)
    features = np.empty((len(rows), len(columns)), dtype=float)
    for j, name in enumerate(NUMERIC):
        features[:, j] = [float(r[name]) for r in rows]
    for k, name in enumerate(CATEGORICAL):
        codes: dict[str, int] = {}
        features[:, len(NUMERIC) + k] = [
            np.nan if r[name] == "unknown" else codes.setdefault(r[name], len(codes)) for r in rows
        ]
    labels = np.array([1 if r["y"] == "yes" else 0 for r in rows], dtype=int)
    categorical = tuple(range(len(NUMERIC), len(columns)))
    return Table(features=features, labels=labels, columns=columns, categorical=categorical)
