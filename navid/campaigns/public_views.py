"""Public pages reached from a campaign's messages: open pixel, click-through, unsubscribe and RSVP.

No login and no cookies: the signed token in the address is the customer's permission, so the forms here are
exempt from CSRF (a forged request would need the customer's own token). Pages speak the message's language,
right to left in Persian, and work without JavaScript. A bad, tampered or outdated token gets a clear page with
status 400 or 404, never an error 500.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from navid.campaigns import tracking
from navid.campaigns.events import invitation_qr_svg
from navid.campaigns.models import Invitation, OutboxMessage, Rsvp
from navid.campaigns.tokens import message_token_read
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Channel

# A transparent GIF of 1 x 1 pixel (42 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
ONE_CLICK_BODY = "One-Click"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _finish(response: HttpResponse, language: str | None = None) -> HttpResponse:
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"  # the token never leaks to the page a click leads to
    response["X-Robots-Tag"] = "noindex"
    if language:
        response["Content-Language"] = language
    return response


def _color(value: str, default: str) -> str:
    """A brand colour for the page's style sheet: only "#rrggbb" gets in."""
    return value if _COLOR.fullmatch(value or "") else default


def _language(message: OutboxMessage | None) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    if message is not None and message.language in codes:
        return message.language
    return translation.get_language() or settings.LANGUAGE_CODE


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    message: OutboxMessage | None = None,
    status: int = 200,
) -> HttpResponse:
    language = _language(message)
    brand = message.campaign.brand if message is not None else None
    colors = {
        "primary": _color(brand.primary_color if brand else "", "#0b5394"),
        "accent": _color(brand.accent_color if brand else "", "#f1c232"),
    }
    with translation.override(language):
        response = render(
            request,
            template,
            {"brand": brand, "colors": colors, "is_rtl": translation.get_language_bidi(), **context},
            status=status,
        )
    return _finish(response, language)


def _problem(
    request: HttpRequest, *, status: int, text: str | Promise, message: OutboxMessage | None = None
) -> HttpResponse:
    with translation.override(_language(message)):  # a lazy text is written in the customer's language
        text = str(text)
        title = {
            400: _("This link cannot be used"),
            404: _("This link is not valid"),
        }.get(status, _("This cannot be done"))
    return _page(
        request,
        "campaigns/public/problem.html",
        {"title": title, "text": text},
        message=message,
        status=status,
    )


def _message(token: str, purpose: str) -> OutboxMessage | None:
    """The message a token names, or None when the token is not one of ours or the message is gone."""
    try:
        message_id = message_token_read(token=token, purpose=purpose)
    except signing.BadSignature:
        return None
    return OutboxMessage.objects.select_related("campaign__brand").filter(pk=message_id).first()


def _not_found(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        status=404,
        text=gettext_lazy(
            "The link may be incomplete or changed. Open it again from the message you received."
        ),
    )


@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The 1 x 1 image in an email: loading it records the open."""
    message = _message(token, "open")
    if message is None:
        return _not_found(request)
    try:
        tracking.message_open_record(message_id=message.pk)
    except NotFound:
        return _not_found(request)
    return _finish(HttpResponse(PIXEL, content_type="image/gif"))


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    """A link in a message: records the click and goes on to the destination, if it is the campaign's own."""
    message = _message(token, "click")
    if message is None:
        return _not_found(request)
    try:
        with translation.override(_language(message)):  # the reasons are written in the customer's language
            destination = tracking.message_click_record(
                message_id=message.pk, target=request.GET.get("u", "")
            )
    except NotFound:
        return _not_found(request)
    except ValidationFailed as exc:
        reason = " ".join(str(reason) for reasons in exc.errors.values() for reason in reasons)
        return _problem(request, status=400, text=reason, message=message)
    return _finish(HttpResponseRedirect(destination), _language(message))


def _channel_label(message: OutboxMessage) -> str:
    return str(Channel(tracking.consent_channel(message=message)).label)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm; POST unsubscribes, from the page's button or as RFC 8058 one-click from a mail client."""
    message = _message(token, "unsubscribe")
    if message is None:
        return _not_found(request)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK_BODY
        if not one_click and request.POST.get("confirm") != "yes":
            return _problem(
                request, status=400, text=gettext_lazy("The request did not say what to do."), message=message
            )
        try:
            tracking.message_unsubscribe(message_id=message.pk)
        except NotFound:
            return _not_found(request)
        if one_click:
            return _finish(HttpResponse(b"", content_type="text/plain", status=200), _language(message))
        with translation.override(_language(message)):
            channel = _channel_label(message)
        return _page(request, "campaigns/public/unsubscribed.html", {"channel": channel}, message=message)
    with translation.override(_language(message)):
        channel = _channel_label(message)
    return _page(request, "campaigns/public/unsubscribe.html", {"channel": channel}, message=message)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def rsvp(request: HttpRequest, token: str) -> HttpResponse:
    """The answer to an event invitation: yes or no, changeable until the event starts."""
    message = _message(token, "rsvp")
    if message is None:
        return _not_found(request)
    event = getattr(message.campaign, "event", None)
    if event is None:
        return _problem(
            request, status=404, text=gettext_lazy("This invitation is no longer valid."), message=message
        )
    invitation = Invitation.objects.filter(event=event, customer_id=message.customer_id).first()
    problem = ""
    status = 200
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer not in {Rsvp.YES, Rsvp.NO}:
            return _problem(request, status=400, text=gettext_lazy("Choose yes or no."), message=message)
        try:
            with translation.override(_language(message)):
                invitation = tracking.message_rsvp(message_id=message.pk, attending=answer == Rsvp.YES)
        except (Conflict, NotFound) as exc:
            problem = str(exc)
            status = 409
    closed = event.starts_at <= timezone.now()
    context = {
        "event": event,
        "invitation": invitation,
        "problem": problem,
        "closed": closed,
        "qr_svg": invitation_qr_svg(invitation_id=invitation.pk)
        if invitation is not None and invitation.rsvp == Rsvp.YES
        else "",
    }
    return _page(request, "campaigns/public/rsvp.html", context, message=message, status=status)
