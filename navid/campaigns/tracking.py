"""What customers do with a campaign's messages: opens, clicks, unsubscribes, RSVPs and replies.

Each one is recorded at most once per message and kind (`MessageResponse`, unique on message and kind) and
becomes an Interaction linked to the campaign, so the customer's timeline, the segment rules and the results all
see it. The public pages (`public_views.py`) call these services with the message id read from a signed token.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.campaigns.models import (
    Campaign,
    Event,
    Invitation,
    MessageResponse,
    MessageTemplate,
    OutboxMessage,
    ResponseKind,
    Rsvp,
)
from navid.channels.inbound_mail import InboundMail
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Channel, Consent, ConsentPurpose, Customer
from navid.customers.services import consent_set
from navid.interactions.models import Direction, Interaction, InteractionChannel, InteractionKind, Outcome

UNSUBSCRIBE_SOURCE = "unsubscribe link"

# The interaction kind and channel an open of a message on each campaign channel becomes.
_OPEN_AS = {
    "email": (InteractionKind.EMAIL, InteractionChannel.EMAIL),
    "sms": (InteractionKind.SMS, InteractionChannel.SMS),
    "mail": (InteractionKind.LETTER, InteractionChannel.POST),
    "event": (InteractionKind.EMAIL, InteractionChannel.EMAIL),
    "phone": (InteractionKind.CALL, InteractionChannel.PHONE),
}
# kind -> (interaction kind, channel, outcome); None means "as the message's channel" (see _OPEN_AS).
_INTERACTION_OF: dict[str, tuple[str, str, str] | None] = {
    ResponseKind.OPENED: None,
    ResponseKind.CLICKED: (InteractionKind.WEB_VISIT, InteractionChannel.WEB, Outcome.INTERESTED),
    ResponseKind.UNSUBSCRIBED: (InteractionKind.REQUEST, InteractionChannel.WEB, Outcome.NOT_INTERESTED),
    ResponseKind.RSVP_YES: (InteractionKind.WEB_VISIT, InteractionChannel.WEB, Outcome.INTERESTED),
    ResponseKind.RSVP_NO: (InteractionKind.WEB_VISIT, InteractionChannel.WEB, Outcome.NOT_INTERESTED),
    ResponseKind.REPLIED: None,
}
# The Message-ID the email adapter gives a message (channels.email.message_id_for) holds its idempotency key
# "campaign:wave:customer:channel" with the colons written as dots.
_OUR_MESSAGE_ID = re.compile(r"<navid\.(\d+)\.(\d+)\.(\d+)\.([a-z]+)@[^<>\s]+>")
# An SMS reply counts for the latest SMS sent to that number within this many days.
SMS_REPLY_DAYS = 30

# A link in a template: up to the first space, quote or angle bracket; trailing sentence punctuation is not part
# of it. A personalisation field inside a link matches URL-safe characters only, so it can never change the host
# into another one or add a path, a query or a user name.
_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_FIELD = re.compile(r"\{[a-z_]+\}")
_FIELD_VALUE = r"[A-Za-z0-9._~%+\-]*"


def _message(message_id: int) -> OutboxMessage:
    message = OutboxMessage.objects.select_related("campaign").filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("This link belongs to a message that no longer exists."))
    return message


def _record(
    *, message: OutboxMessage, kind: str, detail: str = "", at: datetime | None = None
) -> MessageResponse | None:
    """Write the response and its interaction; None when this message already has a response of this kind."""
    at = at or timezone.now()
    try:
        with transaction.atomic():
            response = MessageResponse.objects.create(
                message=message, kind=kind, occurred_at=at, detail=detail[:500]
            )
    except IntegrityError:
        return None
    mapped = _INTERACTION_OF[kind]
    interaction_kind: str
    channel: str
    if mapped is None:
        interaction_kind, channel = _OPEN_AS.get(message.channel, _OPEN_AS["email"])
        outcome: str = Outcome.COMPLETED
    else:
        interaction_kind, channel, outcome = mapped
    interaction = Interaction.objects.create(
        customer_id=message.customer_id,
        kind=interaction_kind,
        channel=channel,
        direction=Direction.INBOUND,
        occurred_at=at,
        outcome=outcome,
        campaign_id=message.campaign_id,
        notes=f"{ResponseKind(kind).label}: {detail}"[:1000] if detail else str(ResponseKind(kind).label),
        source=f"campaign:{kind}",
    )
    response.interaction_id = interaction.pk
    response.save(update_fields=["interaction_id"])
    return response


@transaction.atomic
def message_open_record(*, message_id: int) -> bool:
    """Record that the customer opened the message (the pixel was loaded); True the first time only."""
    message = _message(message_id)
    now = timezone.now()
    response = _record(message=message, kind=ResponseKind.OPENED, at=now)
    OutboxMessage.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
    return response is not None


def click_destinations(*, campaign_id: int) -> list[re.Pattern[str]]:
    """The links a click on this campaign's messages may lead to: those written in its message templates."""
    patterns: dict[str, re.Pattern[str]] = {}
    for template in MessageTemplate.objects.filter(campaign_id=campaign_id).only("subject", "body"):
        for link in _LINK.findall(f"{template.subject}\n{template.body}"):
            link = link.rstrip(".,;:!?)»")
            parts = _FIELD.split(link)
            patterns[link] = re.compile(_FIELD_VALUE.join(re.escape(part) for part in parts))
    # {offer_url} becomes the offer's landing page when the message is written.
    landing = Campaign.objects.filter(pk=campaign_id).values_list("offer__landing_url", flat=True).first()
    if landing:
        patterns[landing] = re.compile(re.escape(landing))
    return list(patterns.values())


def click_destination_check(*, campaign_id: int, target: str) -> str:
    """`target` if it is one of the campaign's links; otherwise ValidationFailed (no open redirect)."""
    target = target.strip()
    if not target:
        raise ValidationFailed({"u": [_("The link has no destination.")]})
    parts = urlsplit(target)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or "\\" in target:
        raise ValidationFailed({"u": [_("The destination is not a web address.")]})
    if target.startswith(f"{settings.NAVID_PUBLIC_URL}/s/"):
        return target  # a survey page of this site ({survey_url}, wrapped like every link of an email)
    if not any(pattern.fullmatch(target) for pattern in click_destinations(campaign_id=campaign_id)):
        raise ValidationFailed({"u": [_("The destination is not one of this campaign's links.")]})
    return target


@transaction.atomic
def message_click_record(*, message_id: int, target: str) -> str:
    """Record a click on one of the message's links and return where to send the customer."""
    message = _message(message_id)
    destination = click_destination_check(campaign_id=message.campaign_id, target=target)
    now = timezone.now()
    _record(message=message, kind=ResponseKind.CLICKED, detail=destination, at=now)
    # A click proves the message was opened even when the pixel was blocked.
    if _record(message=message, kind=ResponseKind.OPENED, at=now) is not None:
        OutboxMessage.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
    OutboxMessage.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
    return destination


def consent_channel(*, message: OutboxMessage) -> str:
    """The consent channel a message's unsubscribe link withdraws: the channel it came by."""
    if message.channel in {Channel.EMAIL, Channel.SMS, Channel.MAIL, Channel.PHONE}:
        return message.channel
    # An event invitation travels by email, SMS or letter; its address says which.
    address = message.address.strip()
    if "@" in address:
        return Channel.EMAIL
    if re.fullmatch(r"\+?[0-9 ()\-]{6,}", address):
        return Channel.SMS
    return Channel.MAIL


@transaction.atomic
def message_unsubscribe(*, message_id: int) -> Consent:
    """Withdraw the customer's marketing consent on the message's channel (audited as from the unsubscribe link)."""
    message = _message(message_id)
    customer = Customer.objects.filter(pk=message.customer_id).first()
    if customer is None:
        raise NotFound(_("This link belongs to a message that no longer exists."))
    channel = consent_channel(message=message)
    consent = Consent.objects.filter(
        customer=customer, channel=channel, purpose=ConsentPurpose.MARKETING
    ).first()
    if consent is None or consent.granted:
        consent = consent_set(
            actor=None,
            customer=customer,
            channel=channel,
            purpose=ConsentPurpose.MARKETING,
            granted=False,
            source=UNSUBSCRIBE_SOURCE,
        )
    _record(message=message, kind=ResponseKind.UNSUBSCRIBED, detail=channel)
    return consent


@transaction.atomic
def message_rsvp(*, message_id: int, attending: bool) -> Invitation:
    """Record the customer's answer to an event invitation; a later answer replaces an earlier one."""
    message = _message(message_id)
    event = getattr(message.campaign, "event", None)
    if event is None:
        raise NotFound(_("This campaign has no event to answer."))
    # One answer at a time per event, so that two last-seat answers cannot both get the seat.
    event = Event.objects.select_for_update().get(pk=event.pk)
    now = timezone.now()
    if event.starts_at <= now:
        raise Conflict(_("The event has already started; answers are closed."))
    invitation, _created = Invitation.objects.select_for_update().get_or_create(
        event=event, customer_id=message.customer_id
    )
    answer = Rsvp.YES if attending else Rsvp.NO
    if invitation.rsvp == answer:
        return invitation
    if attending and event.capacity is not None:
        taken = Invitation.objects.filter(event=event, rsvp=Rsvp.YES).exclude(pk=invitation.pk).count()
        if taken >= event.capacity:
            raise Conflict(_("Sorry, every seat is taken."))
    invitation.rsvp = answer
    invitation.rsvp_at = now
    invitation.save(update_fields=["rsvp", "rsvp_at"])
    _record(message=message, kind=ResponseKind.RSVP_YES if attending else ResponseKind.RSVP_NO, at=now)
    return invitation


def email_reply_record(*, mail: InboundMail) -> MessageResponse | None:
    """A customer's email reply to a campaign message: a `replied` response and an inbound interaction.

    The message is found through the Message-IDs the reply answers; a reply from another address than the one the
    message went to, or to no message of ours, is not recorded (None).
    """
    for answered in mail.answers:
        found = _OUR_MESSAGE_ID.fullmatch(answered)
        if found is None:
            continue
        message = (
            OutboxMessage.objects.select_related("campaign")
            .filter(idempotency_key=":".join(found.groups()))
            .first()
        )
        if message is None or message.address.lower() != mail.sender:
            continue
        detail = f"{mail.subject}\n{mail.text}".strip()
        return _record(message=message, kind=ResponseKind.REPLIED, detail=detail, at=mail.received_at)
    return None


def sms_reply_record(*, sender: str, text: str, at: datetime) -> MessageResponse | None:
    """A customer's SMS (other than STOP) answers the latest campaign SMS sent to that number in SMS_REPLY_DAYS."""
    digits = "".join(char for char in sender if char.isdigit())
    if not digits:
        return None
    message = (
        OutboxMessage.objects.select_related("campaign")
        .filter(
            channel="sms",
            address__in=[f"+{digits}", digits],
            sent_at__isnull=False,
            sent_at__gte=at - timedelta(days=SMS_REPLY_DAYS),
            sent_at__lte=at,
        )
        .order_by("-sent_at", "-pk")
        .first()
    )
    if message is None:
        return None
    return _record(message=message, kind=ResponseKind.REPLIED, detail=text.strip(), at=at)
