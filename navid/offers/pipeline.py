"""The one training pipeline of the propensity models: numpy arrays in, a fitted classifier out.

It knows nothing of the database, so the same code trains the bank's per-product models (features from
`navid.offers.features`) and runs on the public telemarketing benchmark (`bench/propensity.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import ThreadpoolController

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

# scikit-learn (with SciPy) is imported by the functions that train and evaluate, not here: this module is reached
# from the admin and the services at every start of a process, and importing scikit-learn takes over a second.

DECILES = 10
# OpenMP threads of the trees: on a machine whose cores are shared, more threads spin against each other and a fit
# gets several times slower; one thread per fit is the predictable choice. A dedicated trainer may pass more.
THREADS = 1
_controller: ThreadpoolController | None = None


def _threads(limit: int) -> Any:
    """A context limiting the native thread pools; the libraries are looked up once (that takes milliseconds)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=limit)


def pipeline_build(*, categorical: Sequence[int] = (), seed: int = 0) -> HistGradientBoostingClassifier:
    """An unfitted classifier: gradient-boosted trees, categorical columns (integer codes) handled natively."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=200,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features=list(categorical) if categorical else None,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=10,
        scoring="roc_auc",
        random_state=seed,
    )


def pipeline_fit(
    *,
    features: np.ndarray,
    labels: np.ndarray,
    categorical: Sequence[int] = (),
    seed: int = 0,
    threads: int = THREADS,
) -> HistGradientBoostingClassifier:
    """Fit the pipeline on a feature table (rows x columns, NaN = unknown) and 0/1 labels."""
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features {features.shape} and labels {labels.shape} do not line up")
    classes = set(np.unique(labels).tolist())
    if classes != {0, 1}:
        raise ValueError(f"labels must hold both 0 and 1, got {sorted(classes)}")
    empty = np.isnan(features).all(axis=0) if len(features) else np.zeros(features.shape[1], dtype=bool)
    if empty.any():
        # A column with no value at all (nobody's age known) cannot be binned; as a constant it is never split on,
        # so whatever it holds when scoring is ignored.
        features = np.where(empty, 0.0, features)
    model = pipeline_build(categorical=categorical, seed=seed)
    # Early stopping needs both classes in its validation share; small tables train on everything.
    if min(int(labels.sum()), int(len(labels) - labels.sum())) < 20:
        model.set_params(early_stopping=False, max_iter=100)
    with _threads(threads):
        model.fit(features, labels)
    return model


def pipeline_score(*, model: HistGradientBoostingClassifier, features: np.ndarray) -> np.ndarray:
    """The probability of the positive class for each row."""
    if len(features) == 0:
        return np.zeros(0)
    with _threads(THREADS):
        return np.asarray(model.predict_proba(features)[:, 1], dtype=float)


def lift_by_decile(*, labels: np.ndarray, scores: np.ndarray) -> list[float]:
    """Rate of positives in each tenth of the rows ranked by score (best first), over the overall rate."""
    if len(labels) < DECILES or labels.sum() == 0:
        return []
    order = np.argsort(-scores, kind="stable")
    base = float(labels.mean())
    return [round(float(labels[part].mean()) / base, 4) for part in np.array_split(order, DECILES)]


@dataclass(frozen=True)
class Evaluation:
    auc: float
    lift: list[float]


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def pipeline_evaluate(*, labels: np.ndarray, scores: np.ndarray) -> Evaluation:
    """AUC and lift by decile of scores against the true labels."""
    if len(set(labels.tolist())) < 2:
        raise ValueError("the test set holds only one class: AUC is undefined")
    return Evaluation(auc=round(_auc(labels, scores), 4), lift=lift_by_decile(labels=labels, scores=scores))


def cross_validated_auc(
    *,
    features: np.ndarray,
    labels: np.ndarray,
    categorical: Sequence[int] = (),
    folds: int = 5,
    seed: int = 0,
) -> list[float]:
    """AUC of each fold of a stratified k-fold cross-validation of the pipeline (shuffled with `seed`)."""
    from sklearn.model_selection import StratifiedKFold

    result = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels):
        model = pipeline_fit(
            features=features[train], labels=labels[train], categorical=categorical, seed=seed
        )
        scores = pipeline_score(model=model, features=features[test])
        result.append(_auc(labels[test], scores))
    return result


def time_split_auc(
    *,
    features: np.ndarray,
    labels: np.ndarray,
    categorical: Sequence[int] = (),
    share: float = 0.8,
    seed: int = 0,
) -> float:
    """AUC on the last (1 - share) of the rows when training on the first `share` (rows in time order)."""
    cut = int(len(labels) * share)
    model = pipeline_fit(features=features[:cut], labels=labels[:cut], categorical=categorical, seed=seed)
    return _auc(labels[cut:], pipeline_score(model=model, features=features[cut:]))
