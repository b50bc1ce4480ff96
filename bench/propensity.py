"""Propensity pipeline on the public telemarketing data (UCI Bank Marketing, bank-additional-full.csv).

    .venv/bin/python bench/propensity.py [path/to/bank-additional-full.csv]

Prints the AUC of each fold of a 5-fold stratified cross-validation and their mean, then the AUC on the last 20 %
of the file (time order) when training on the first 80 %. `duration` is left out (known only after the call).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from navid.offers.bank_marketing import bank_marketing_load
from navid.offers.pipeline import cross_validated_auc, time_split_auc

DEFAULT = Path("/work/shared/data/bank_marketing/bank-additional-full.csv")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    table = bank_marketing_load(path)
    print(
        f"{path.name}: {len(table.labels)} rows, {int(table.labels.sum())} positives, "
        f"{len(table.columns)} features (duration left out)"
    )
    started = time.perf_counter()
    folds = cross_validated_auc(
        features=table.features, labels=table.labels, categorical=table.categorical, folds=5, seed=0
    )
    print("5-fold AUC per fold:", " ".join(f"{auc:.4f}" for auc in folds))
    print(
        f"5-fold mean AUC: {np.mean(folds):.4f} (sd {np.std(folds):.4f}) in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    auc = time_split_auc(features=table.features, labels=table.labels, categorical=table.categorical, seed=0)
    print(
        f"time-ordered split, train first 80 %, test last 20 %: AUC {auc:.4f} "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
