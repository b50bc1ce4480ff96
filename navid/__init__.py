"""Navid: a campaign-management CRM for banks."""

from navid.celery import app as celery_app

__all__ = ["celery_app"]
