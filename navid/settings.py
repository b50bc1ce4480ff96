"""Navid settings: every environment variable is read here, and only here."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("NAVID_VAR_DIR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("NAVID_DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when NAVID_DEBUG is off.")
    SECRET_KEY = "navid-insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "navid.core",
    "navid.accounts",
    "navid.customers",
    "navid.interactions",
    "navid.segments",
    "navid.offers",
    "navid.channels",
    "navid.campaigns",
    "navid.sales",
    "navid.loyalty",
    "navid.telemarketing",
    "navid.surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "navid.urls"
WSGI_APPLICATION = "navid.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "navid.core.context_processors.navigation",
            ],
            "builtins": ["navid.core.templatetags.navid"],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'navid.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("NAVID_DB_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-navid.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiler spent longer compiling a segment count (0.7 s) than the count itself took
    # to run; Navid's queries are many and short, so it is off for Navid's connections.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "customers:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("NAVID_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("fa", _("Persian")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("NAVID_TIME_ZONE", "Asia/Tehran")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
NAVID_IMPORT_MAX_BYTES = int(os.environ.get("NAVID_IMPORT_MAX_BYTES", str(512 * 1024 * 1024)))
# Files up to this size are imported while the page waits; larger ones run as a background job.
NAVID_IMPORT_INLINE_BYTES = int(os.environ.get("NAVID_IMPORT_INLINE_BYTES", str(256 * 1024)))
NAVID_DEFAULT_PHONE_REGION = os.environ.get("NAVID_DEFAULT_PHONE_REGION", "IR")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Schedules run by `celery -A navid beat`, at the bank's local time.
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "recompute-customer-values": {
        "task": "navid.segments.tasks.recompute_values",
        "schedule": crontab(hour=2, minute=0),
    },
    "offers-cross-product-matrix": {
        "task": "navid.offers.tasks.recompute_cross_product_matrix",
        "schedule": crontab(hour=3, minute=0),
    },
    "offers-retrain-propensity-models": {
        "task": "navid.offers.tasks.retrain_propensity_models",
        "schedule": crontab(hour=3, minute=30, day_of_week=0),
    },
    "campaign-attribution": {
        "task": "navid.campaigns.tasks.recompute_attribution",
        "schedule": 600.0,
    },
    "start-due-campaigns": {
        "task": "navid.campaigns.scheduling.start_due_campaigns",
        "schedule": 60.0,
    },
    "sales-leads-from-campaign-responses": {
        "task": "navid.sales.tasks.leads_from_campaign_responses",
        "schedule": 900.0,
    },
    "loyalty-earn-points": {
        "task": "navid.loyalty.tasks.earn_points",
        "schedule": 900.0,
    },
    "loyalty-expire-points-and-refresh-tiers": {
        "task": "navid.loyalty.tasks.expire_points_and_refresh_tiers",
        "schedule": crontab(hour=1, minute=30),
    },
    # Calls whose console or dialer stopped renewing the lease: recorded, customers back in the queue.
    "telemarketing-stale-calls": {
        "task": "navid.telemarketing.tasks.release_stale_calls",
        "schedule": 30.0,
    },
}
# Task modules that are not called tasks.py (autodiscovery finds only those).
CELERY_IMPORTS = ["navid.campaigns.scheduling"]

# Sending campaign messages (docs/channels.md): the SMTP server, the SMS centre (SMPP) or HTTP gateway, and how
# workers take the outbox (messages per batch, seconds a batch stays theirs, parallel tasks per channel).
NAVID_SMTP_HOST = os.environ.get("NAVID_SMTP_HOST", "127.0.0.1")
NAVID_SMTP_PORT = int(os.environ.get("NAVID_SMTP_PORT", "25"))
NAVID_SMTP_USER = os.environ.get("NAVID_SMTP_USER", "")
NAVID_SMTP_PASSWORD = os.environ.get("NAVID_SMTP_PASSWORD", "")
NAVID_SMTP_SECURITY = os.environ.get("NAVID_SMTP_SECURITY", "none")  # none, starttls or ssl
# Customers' email replies arrive here (`navid inbound-mail`), forwarded by the bank's mail exchanger.
NAVID_INBOUND_SMTP_HOST = os.environ.get("NAVID_INBOUND_SMTP_HOST", "127.0.0.1")
NAVID_INBOUND_SMTP_PORT = int(os.environ.get("NAVID_INBOUND_SMTP_PORT", "2525"))
# SMTP connections per worker: a group of this many messages is sent at once with one commit point.
NAVID_SMTP_CONNECTIONS = int(os.environ.get("NAVID_SMTP_CONNECTIONS", "8"))
NAVID_SMS_GATEWAY = os.environ.get("NAVID_SMS_GATEWAY", "smpp")  # smpp or http
NAVID_SMPP_HOST = os.environ.get("NAVID_SMPP_HOST", "127.0.0.1")
NAVID_SMPP_PORT = int(os.environ.get("NAVID_SMPP_PORT", "2775"))
NAVID_SMPP_SYSTEM_ID = os.environ.get("NAVID_SMPP_SYSTEM_ID", "")
NAVID_SMPP_PASSWORD = os.environ.get("NAVID_SMPP_PASSWORD", "")
NAVID_SMPP_SYSTEM_TYPE = os.environ.get("NAVID_SMPP_SYSTEM_TYPE", "")
NAVID_SMPP_WINDOW = int(os.environ.get("NAVID_SMPP_WINDOW", "32"))
NAVID_SMS_HTTP_URL = os.environ.get("NAVID_SMS_HTTP_URL", "")
NAVID_SMS_HTTP_TOKEN = os.environ.get("NAVID_SMS_HTTP_TOKEN", "")
NAVID_SEND_BATCH = int(os.environ.get("NAVID_SEND_BATCH", "100"))
NAVID_SEND_LEASE_SECONDS = int(os.environ.get("NAVID_SEND_LEASE_SECONDS", "120"))
NAVID_SEND_WORKERS_PER_CHANNEL = int(os.environ.get("NAVID_SEND_WORKERS_PER_CHANNEL", "2"))
# The adapter factory of each channel (dotted path of a callable taking commit_point and on_deliver).
NAVID_CHANNEL_ADAPTERS = {
    "email": "navid.channels.registry.smtp_from_settings",
    "event": "navid.channels.registry.smtp_from_settings",  # invitations go out by email
    "sms": "navid.channels.registry.sms_from_settings",
    "mail": "navid.channels.registry.mail_from_settings",
}
# Telephony (docs/dialer.md, docs/telemarketing.md): the Asterisk Manager Interface, ami://user:secret@host:5038;
# empty means agents dial by hand from the console (preview mode only).
NAVID_AMI_URL = os.environ.get("NAVID_AMI_URL", "")
NAVID_AMI_CONTEXT = os.environ.get("NAVID_AMI_CONTEXT", "navid-dialer")
# Simultaneous calls the bank's trunk carries for the dialer process (ringing, waiting and talking); 0 = no limit.
NAVID_DIALER_LINES = int(os.environ.get("NAVID_DIALER_LINES", "30"))
NAVID_ABANDON_AFTER_SECONDS = float(os.environ.get("NAVID_ABANDON_AFTER_SECONDS", "2"))
# Direct mail: each batch of letters is one PDF with its CSV manifest, for the print house to collect.
NAVID_LETTERS_DIR = Path(os.environ.get("NAVID_LETTERS_DIR", str(VAR_DIR / "letters")))

# Where customers reach Navid's public pages (tracking pixel, links, unsubscribe, RSVP, surveys): the address
# written into messages, so it must be the one customers can open, not 127.0.0.1 in production.
NAVID_PUBLIC_URL = os.environ.get("NAVID_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

if not DEBUG:
    SESSION_COOKIE_SECURE = _env_bool("NAVID_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_HSTS_SECONDS = int(os.environ.get("NAVID_HSTS_SECONDS", "0"))
    SECURE_SSL_REDIRECT = _env_bool("NAVID_SSL_REDIRECT", False)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("NAVID_HSTS_INCLUDE_SUBDOMAINS", False)
    # An intranet host is never on the browsers' public HSTS preload list.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("NAVID_LOG_LEVEL", "WARNING")},
}
