"""Background work of offers: the scheduled recompute of the cross-product matrix and retraining of models."""

from celery import shared_task

from navid.offers.crossproduct import cross_product_compute
from navid.offers.propensity import propensity_train_all


@shared_task(acks_late=True)
def recompute_cross_product_matrix() -> int:
    """Recompute the matrix from today's holdings; a second delivery replaces it with the same rows."""
    return cross_product_compute()


@shared_task(acks_late=True)
def retrain_propensity_models() -> int:
    """Train a new current model per product; a second delivery trains again (older rows stay as history)."""
    return propensity_train_all().trained
