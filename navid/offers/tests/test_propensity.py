from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from navid.customers.models import Customer, ProductHolding
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.offers.features import feature_names_default, feature_table
from navid.offers.models import PropensityModel
from navid.offers.propensity import (
    ModelFileError,
    model_load,
    models_dir,
    propensity_scores,
    propensity_train_all,
)

TODAY = dt.date(2026, 1, 1)
T2 = TODAY - dt.timedelta(days=180)
T1 = T2 - dt.timedelta(days=180)


@pytest.fixture
def history(db: None, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """400 customers: savers open a card in each window half the time, the others one time in twenty."""
    settings.VAR_DIR = tmp_path
    current = ProductTypeFactory(code="current", name_en="Current")
    savings = ProductTypeFactory(code="savings", name_en="Savings")
    card = ProductTypeFactory(code="card", name_en="Card", is_credit=True)
    rng = np.random.default_rng(5)
    customers = [CustomerFactory() for _ in range(400)]
    rows = []
    for n, customer in enumerate(customers):
        rows.append(ProductHolding(customer=customer, product_type=current, opened_on=dt.date(2020, 1, 1)))
        saver = n % 2 == 0
        if saver:
            rows.append(
                ProductHolding(customer=customer, product_type=savings, opened_on=dt.date(2021, 1, 1))
            )
        for start in (T1, T2):
            if rng.random() < (0.5 if saver else 0.05):
                rows.append(
                    ProductHolding(
                        customer=customer, product_type=card, opened_on=start + dt.timedelta(days=30)
                    )
                )
                break
    ProductHolding.objects.bulk_create(rows)
    return {"card": card, "savings": savings, "current": current, "customers": customers}


def test_features_before_the_day_only(history: dict[str, Any]) -> None:
    customer: Customer = history["customers"][0]
    names = ["held:current", "held:savings", "held:card", "held_count", "tenure_days", "age_years", "unknown"]
    table = feature_table(customer_ids=[customer.pk], as_of=T2, names=names)
    held_card = ProductHolding.objects.filter(customer=customer, product_type=history["card"]).first()
    card_before = 1.0 if held_card and held_card.opened_on <= T2 else 0.0
    assert table.values[0, :3].tolist() == [1.0, 1.0, card_before]
    assert table.values[0, 3] == 2.0 + card_before
    assert table.values[0, 4] == (T2 - dt.date(2020, 1, 1)).days
    assert np.isnan(table.values[0, 5])
    assert table.values[0, 6] == 0.0


def test_training_learns_the_signal_and_stores_the_model(history: dict[str, Any]) -> None:
    report = propensity_train_all(today=TODAY)
    assert (report.trained, report.too_little_data) == (1, 2)
    card = PropensityModel.objects.get(product_type=history["card"], is_current=True)
    assert card.state == PropensityModel.State.READY
    assert card.cut_date == T2
    assert card.train_rows == 400
    assert card.auc is not None and card.auc > 0.75
    assert len(card.lift_by_decile) == 10 and card.lift_by_decile[0] > 1.5
    assert (models_dir() / card.file_path).is_file()
    savings = PropensityModel.objects.get(product_type=history["savings"], is_current=True)
    assert savings.state == PropensityModel.State.TOO_LITTLE_DATA
    assert savings.file_path == ""

    saver, other = history["customers"][2], history["customers"][3]
    ids, scores = propensity_scores(
        customer_ids=[saver.pk, other.pk], as_of=TODAY, models={history["card"].pk: card}
    )
    assert ids.tolist() == [saver.pk, other.pk]
    assert scores[history["card"].pk][0] > scores[history["card"].pk][1]

    # A second run makes new current rows and keeps the old ones as history.
    propensity_train_all(today=TODAY)
    assert PropensityModel.objects.filter(product_type=history["card"]).count() == 2
    assert PropensityModel.objects.filter(product_type=history["card"], is_current=True).count() == 1


def test_a_changed_or_misplaced_file_is_not_loaded(history: dict[str, Any]) -> None:
    propensity_train_all(today=TODAY)
    card = PropensityModel.objects.get(product_type=history["card"], is_current=True)
    from navid.offers import propensity

    propensity._cache.clear()
    path = models_dir() / card.file_path
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelFileError, match="has changed"):
        model_load(card)
    card.file_path = "../elsewhere.joblib"
    with pytest.raises(ModelFileError, match="is not in"):
        model_load(card)
    # The next best offer falls back instead of failing.
    _ids, scores = propensity_scores(
        customer_ids=[history["customers"][0].pk], as_of=TODAY, models={card.product_type_id: card}
    )
    assert scores == {}


def test_default_feature_names(history: dict[str, Any]) -> None:
    names = feature_names_default()
    assert names[:5] == ["held_count", "tenure_days", "age_years", "organisation", "customer"]
    assert [n for n in names if n.startswith("held:")] == ["held:card", "held:current", "held:savings"]
