from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from navid.offers.bank_marketing import LEFT_OUT, bank_marketing_load
from navid.offers.pipeline import (
    cross_validated_auc,
    lift_by_decile,
    pipeline_evaluate,
    pipeline_fit,
    pipeline_score,
    time_split_auc,
)

SAMPLE = Path(__file__).parent / "data" / "bank-additional-sample.csv"


def _signal(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two informative columns, one categorical column that matters, two noise columns."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[:, 2] = rng.integers(0, 4, size=n)
    logit = 1.5 * x[:, 0] - 1.0 * x[:, 1] + np.where(x[:, 2] == 3, 1.5, 0.0) - 2.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def test_the_pipeline_learns_a_known_signal() -> None:
    x, y = _signal(3000, seed=1)
    model = pipeline_fit(features=x[:2000], labels=y[:2000], categorical=[2], seed=0)
    evaluation = pipeline_evaluate(labels=y[2000:], scores=pipeline_score(model=model, features=x[2000:]))
    assert evaluation.auc > 0.8
    assert len(evaluation.lift) == 10
    assert evaluation.lift[0] > 2 > evaluation.lift[-1]


def test_noise_gives_an_auc_near_one_half() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2000, 3)), (rng.random(2000) < 0.3).astype(int)
    model = pipeline_fit(features=x[:1000], labels=y[:1000], seed=0)
    assert (
        abs(
            pipeline_evaluate(labels=y[1000:], scores=pipeline_score(model=model, features=x[1000:])).auc
            - 0.5
        )
        < 0.06
    )


def test_lift_by_decile_exact() -> None:
    labels = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    scores = np.arange(20, 0, -1, dtype=float)
    # 3 positives in 20 rows: rate 0.15; first decile (2 rows) 1.0, sixth decile (rows 10-11) 0.5.
    assert lift_by_decile(labels=labels, scores=scores) == [
        6.6667,
        0.0,
        0.0,
        0.0,
        0.0,
        3.3333,
        0.0,
        0.0,
        0.0,
        0.0,
    ]


def test_bad_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="both 0 and 1"):
        pipeline_fit(features=np.zeros((5, 2)), labels=np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="do not line up"):
        pipeline_fit(features=np.zeros((5, 2)), labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="only one class"):
        pipeline_evaluate(labels=np.zeros(4, dtype=int), scores=np.arange(4.0))


def test_the_benchmark_sample_reads_and_learns() -> None:
    table = bank_marketing_load(SAMPLE)
    assert table.features.shape == (2000, 19)
    assert int(table.labels.sum()) == 218
    assert not set(LEFT_OUT) & set(table.columns)
    folds = cross_validated_auc(
        features=table.features, labels=table.labels, categorical=table.categorical, folds=3, seed=0
    )
    assert len(folds) == 3
    assert np.mean(folds) > 0.7
    assert (
        0.5 < time_split_auc(features=table.features, labels=table.labels, categorical=table.categorical) < 1
    )


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('"age";"y"\n30;"no"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns job"):
        bank_marketing_load(path)


def test_a_column_without_any_value_is_ignored() -> None:
    x, y = _signal(600, seed=2)
    x[:, 4] = np.nan
    model = pipeline_fit(features=x, labels=y, seed=0)
    with_values = x.copy()
    with_values[:, 4] = 1.0
    assert (
        pipeline_score(model=model, features=x).tolist()
        == pipeline_score(model=model, features=with_values).tolist()
    )
