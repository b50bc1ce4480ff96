"""Which adapter serves a channel: `settings.NAVID_CHANNEL_ADAPTERS` maps a channel to a factory."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from navid.channels.base import Adapter
from navid.channels.email import SmtpAdapter
from navid.channels.hooks import (
    CommitEnd,
    CommitPoint,
    OnDeliver,
    commit_all,
    commit_end_nothing,
    deliver_ignore,
)
from navid.channels.mail import MailAdapter
from navid.channels.sms import SmppAdapter
from navid.channels.sms_http import HttpSmsAdapter


def smtp_from_settings(*, commit_point: CommitPoint, commit_end: CommitEnd, on_deliver: OnDeliver) -> Adapter:
    """The SMTP adapter of the settings' server."""
    return SmtpAdapter(
        host=settings.NAVID_SMTP_HOST,
        port=settings.NAVID_SMTP_PORT,
        username=settings.NAVID_SMTP_USER,
        password=settings.NAVID_SMTP_PASSWORD,
        security=settings.NAVID_SMTP_SECURITY,
        connections=settings.NAVID_SMTP_CONNECTIONS,
        commit_point=commit_point,
        commit_end=commit_end,
    )


def mail_from_settings(*, commit_point: CommitPoint, commit_end: CommitEnd, on_deliver: OnDeliver) -> Adapter:
    """The direct-mail adapter: print-ready PDF letters and the print house's manifest under NAVID_LETTERS_DIR."""
    return MailAdapter(output_dir=settings.NAVID_LETTERS_DIR)


def sms_from_settings(*, commit_point: CommitPoint, commit_end: CommitEnd, on_deliver: OnDeliver) -> Adapter:
    """The SMPP adapter, or the HTTP gateway adapter when NAVID_SMS_GATEWAY is http."""
    if settings.NAVID_SMS_GATEWAY == "http":
        return HttpSmsAdapter(
            url=settings.NAVID_SMS_HTTP_URL,
            token=settings.NAVID_SMS_HTTP_TOKEN,
            commit_point=commit_point,
            commit_end=commit_end,
        )
    if settings.NAVID_SMS_GATEWAY != "smpp":
        raise ImproperlyConfigured(
            f"NAVID_SMS_GATEWAY must be smpp or http, not {settings.NAVID_SMS_GATEWAY!r}"
        )
    return SmppAdapter(
        host=settings.NAVID_SMPP_HOST,
        port=settings.NAVID_SMPP_PORT,
        system_id=settings.NAVID_SMPP_SYSTEM_ID,
        password=settings.NAVID_SMPP_PASSWORD,
        system_type=settings.NAVID_SMPP_SYSTEM_TYPE,
        window=settings.NAVID_SMPP_WINDOW,
        commit_point=commit_point,
        commit_end=commit_end,
        on_deliver=on_deliver,
    )


def adapter_open(
    *,
    channel: str,
    commit_point: CommitPoint = commit_all,
    commit_end: CommitEnd = commit_end_nothing,
    on_deliver: OnDeliver = deliver_ignore,
) -> Adapter:
    """A new adapter for `channel`, built by the factory the settings name for it."""
    path = settings.NAVID_CHANNEL_ADAPTERS.get(channel)
    if not path:
        raise ImproperlyConfigured(
            f"no adapter for the {channel!r} channel: add one to NAVID_CHANNEL_ADAPTERS in the settings"
        )
    factory = import_string(path)
    adapter: Adapter = factory(commit_point=commit_point, commit_end=commit_end, on_deliver=on_deliver)
    return adapter
