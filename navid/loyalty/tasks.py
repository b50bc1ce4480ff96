"""Scheduled work of loyalty (Celery beat, settings.CELERY_BEAT_SCHEDULE); every task is idempotent."""

from __future__ import annotations

import logging

from celery import shared_task

from navid.loyalty import services

logger = logging.getLogger(__name__)


@shared_task
def earn_points() -> dict[str, int]:
    """Earn for the transactions and products opened since the last run."""
    written = services.points_earn_pending()
    logger.info("loyalty earn: %s", written)
    return written


@shared_task
def expire_points_and_refresh_tiers() -> dict[str, int]:
    """The nightly run: earn what is pending, write the expiry due, then refresh every customer's tier."""
    earned = services.points_earn_pending()
    expired = services.points_expire()
    tiers = services.tiers_refresh()
    result = {**earned, "expired": expired, "tiers": tiers}
    logger.info("loyalty nightly: %s", result)
    return result
