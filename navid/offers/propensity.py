"""Propensity models per product: trained on the bank's own history, stored as files, scored in batches.

Time-based split, no leakage. With today D and horizon H:

- training rows: customers not holding the product on T1 = D - 2H, features on T1, label = opened it in (T1, T1+H];
- test rows: customers not holding it on T2 = D - H, features on T2, label = opened it in (T2, D].

The model fitted on the training rows is measured on the test rows (AUC, lift by decile) and stored: the figures
shown are those of the model in use. It scores customers with their features of the day it is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from navid.customers.models import Customer, ProductHolding, ProductType
from navid.offers.features import FeatureTable, feature_names_default, feature_table
from navid.offers.models import PropensityModel
from navid.offers.pipeline import pipeline_evaluate, pipeline_fit, pipeline_score

logger = logging.getLogger(__name__)

HORIZON_DAYS = 180
MIN_POSITIVES = 10
TRAIN_LIMIT = 200_000
BATCH = 5_000


def models_dir() -> Path:
    """Where model files live (created on first use)."""
    path = Path(settings.VAR_DIR) / "models" / "offers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sample_ids(limit: int) -> list[int]:
    """Live customer ids, every k-th one when there are more than `limit` (deterministic)."""
    live = Customer.objects.filter(deleted_at__isnull=True)
    total = live.count()
    step = max(1, -(-total // limit))
    if step > 1:
        live = live.alias(bucket=F("pk") % step).filter(bucket=0)
    return list(live.order_by("pk").values_list("pk", flat=True)[:limit])


def _table(ids: Sequence[int], as_of: dt.date, names: Sequence[str]) -> FeatureTable:
    parts = [
        feature_table(customer_ids=ids[i : i + BATCH], as_of=as_of, names=names)
        for i in range(0, len(ids), BATCH)
    ]
    if not parts:
        return feature_table(customer_ids=[], as_of=as_of, names=names)
    return FeatureTable(
        ids=np.concatenate([p.ids for p in parts]),
        values=np.vstack([p.values for p in parts]),
        names=tuple(names),
    )


def _openings(start: dt.date, end: dt.date) -> set[tuple[int, int]]:
    """(customer, product) pairs of holdings opened in (start, end]."""
    rows = ProductHolding.objects.filter(opened_on__gt=start, opened_on__lte=end).values_list(
        "customer_id", "product_type_id"
    )
    return set(rows)


def _labels(
    table: FeatureTable, product: ProductType, opened: set[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of customers not holding `product` in `table`, and their 0/1 labels."""
    rows = table.column(f"held:{product.code}") == 0
    labels = np.array([1 if (int(cid), product.pk) in opened else 0 for cid in table.ids[rows]], dtype=int)
    return rows, labels


@dataclass(frozen=True)
class TrainingReport:
    trained: int
    too_little_data: int


def propensity_train_all(
    *, today: dt.date | None = None, horizon_days: int = HORIZON_DAYS, limit: int = TRAIN_LIMIT, seed: int = 0
) -> TrainingReport:
    """Train and store one model per product type; the new rows become the current models."""
    day = today or timezone.localdate()
    t2 = day - dt.timedelta(days=horizon_days)
    t1 = t2 - dt.timedelta(days=horizon_days)
    names = feature_names_default()
    ids = _sample_ids(limit)
    train_table = _table(ids, t1, names)
    test_table = _table(ids, t2, names)
    train_opened = _openings(t1, t2)
    test_opened = _openings(t2, day)
    trained = too_little = 0
    for product in ProductType.objects.order_by("code"):
        train_rows, train_labels = _labels(train_table, product, train_opened)
        test_rows, test_labels = _labels(test_table, product, test_opened)
        train_positives, test_positives = int(train_labels.sum()), int(test_labels.sum())
        common: dict[str, Any] = {
            "product_type": product,
            "trained_at": timezone.now(),
            "cut_date": t2,
            "horizon_days": horizon_days,
            "feature_names": names,
            "train_rows": len(train_labels),
            "train_positives": train_positives,
            "test_rows": len(test_labels),
            "test_positives": test_positives,
            "base_rate": float(test_labels.mean()) if len(test_labels) else 0.0,
        }
        smallest = min(
            train_positives,
            test_positives,
            len(train_labels) - train_positives,
            len(test_labels) - test_positives,
        )
        if smallest < MIN_POSITIVES:
            _store(
                PropensityModel(
                    **common,
                    state=PropensityModel.State.TOO_LITTLE_DATA,
                    message=f"fewer than {MIN_POSITIVES} openings or non-openings in a window",
                ),
                estimator=None,
            )
            too_little += 1
            continue
        model = pipeline_fit(features=train_table.values[train_rows], labels=train_labels, seed=seed)
        evaluation = pipeline_evaluate(
            labels=test_labels, scores=pipeline_score(model=model, features=test_table.values[test_rows])
        )
        _store(
            PropensityModel(
                **common,
                state=PropensityModel.State.READY,
                auc=evaluation.auc,
                lift_by_decile=evaluation.lift,
            ),
            estimator=model,
        )
        trained += 1
    _cache.clear()
    return TrainingReport(trained=trained, too_little_data=too_little)


@transaction.atomic
def _store(row: PropensityModel, *, estimator: Any) -> None:
    """Write the file (if any), then make `row` the product's current model."""
    if estimator is not None:
        stamp = row.trained_at.strftime("%Y%m%dT%H%M%S%f")
        path = models_dir() / f"propensity-{row.product_type.code}-{stamp}.joblib"
        joblib.dump(estimator, path)
        row.file_path = path.name
        row.file_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    PropensityModel.objects.filter(product_type=row.product_type, is_current=True).update(is_current=False)
    row.is_current = True
    row.save()


# --- scoring ---

_cache: dict[str, Any] = {}


class ModelFileError(Exception):
    """A model file that is missing, outside the models directory, or not the file that was stored."""


def model_load(model: PropensityModel) -> Any:
    """The fitted estimator of `model`, read only from the models directory and only if its digest matches."""
    if model.file_sha256 in _cache:
        return _cache[model.file_sha256]
    base = models_dir().resolve()
    path = (base / model.file_path).resolve()
    if not model.file_path or path.parent != base:
        raise ModelFileError(f"model {model.pk}: file {model.file_path!r} is not in {base}")
    if not path.is_file():
        raise ModelFileError(f"model {model.pk}: {path} is missing")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != model.file_sha256:
        raise ModelFileError(f"model {model.pk}: {path} has changed since it was stored")
    estimator = joblib.load(path)
    _cache[model.file_sha256] = estimator
    return estimator


def current_models() -> dict[int, PropensityModel]:
    """The current model of each product that has one, by product id."""
    return {m.product_type_id: m for m in PropensityModel.objects.filter(is_current=True)}


def usable_models(models: dict[int, PropensityModel]) -> dict[int, tuple[PropensityModel, Any]]:
    """The ready models whose file loads, with their estimators; a model that cannot be used is logged."""
    usable: dict[int, tuple[PropensityModel, Any]] = {}
    for product_id, model in models.items():
        if model.state != PropensityModel.State.READY:
            continue
        try:
            usable[product_id] = (model, model_load(model))
        except ModelFileError:
            logger.exception(
                "propensity model %s cannot be used; its product falls back to the base rate", model.pk
            )
    return usable


def propensity_scores(
    *, customer_ids: Sequence[int], as_of: dt.date, models: dict[int, PropensityModel]
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Ids (ascending) and, per product with a ready model, the propensity of each of those customers."""
    ids = np.array(sorted(set(customer_ids)), dtype=np.int64)
    tables: dict[tuple[str, ...], FeatureTable] = {}
    scores: dict[int, np.ndarray] = {}
    for product_id, (model, estimator) in usable_models(models).items():
        names = tuple(model.feature_names)
        if names not in tables:
            tables[names] = feature_table(customer_ids=[int(i) for i in ids], as_of=as_of, names=names)
        scores[product_id] = pipeline_score(model=estimator, features=tables[names].values)
    return ids, scores
