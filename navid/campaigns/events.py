"""Event campaigns: the event, its guest list, check-in at the door (by list or QR code) and no-shows.

The guest list is the campaign's treatment group (`event_invitations_sync`, one INSERT ... SELECT); customers
answer through the RSVP link of their invitation (`tracking.message_rsvp`); staff check guests in on the event
page, and after the event mark everyone who said yes and did not come as a no-show. Check-ins and no-shows
become Interactions linked to the campaign (kind "meeting", channel "field").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno
from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, model_snapshot
from navid.campaigns.models import (
    Attendance,
    Campaign,
    CampaignChannel,
    Decision,
    Event,
    Group,
    Invitation,
    Rsvp,
)
from navid.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from navid.core.text import digits_only, search_key, to_ascii_digits
from navid.interactions.models import Direction, Interaction, InteractionChannel, InteractionKind, Outcome

_CODE_SALT = "navid.campaigns.invitation"
CHECK_IN_PERMISSION = "campaigns.check_in_guests"


def _require(actor: Actor, permission: str) -> None:
    if actor is None or not actor.has_perm(permission):
        raise PermissionDenied(_("You may not do this."))


# --- the event ---


def _clean_event(
    *, title: str, place: str, starts_at: datetime | None, ends_at: datetime | None, capacity: int | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    title, place = title.strip(), place.strip()
    if not title:
        errors["title"] = [_("Give the event a title.")]
    if not place:
        errors["place"] = [_("Say where the event takes place.")]
    if starts_at is None:
        errors["starts_at"] = [_("Say when the event starts.")]
    elif ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = [_("The event must end after it starts.")]
    if capacity is not None and capacity < 1:
        errors["capacity"] = [_("At least one seat, or empty for no limit.")]
    if errors:
        raise ValidationFailed(errors)
    return {"title": title, "place": place, "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity}


@transaction.atomic
def event_create(
    *,
    actor: Actor,
    campaign: Campaign,
    title: str,
    place: str,
    starts_at: datetime | None,
    ends_at: datetime | None = None,
    capacity: int | None = None,
) -> Event:
    """Give an event campaign its event (one per campaign) and write its guest list if the campaign has one."""
    _require(actor, "campaigns.add_event")
    if not campaign.channel_plans.filter(channel=CampaignChannel.EVENT).exists():
        raise Conflict(_("Only a campaign with the event invitation channel can have an event."))
    if Event.objects.filter(campaign=campaign).exists():
        raise Conflict(_("This campaign already has an event."))
    values = _clean_event(title=title, place=place, starts_at=starts_at, ends_at=ends_at, capacity=capacity)
    event = Event.objects.create(campaign=campaign, **values)
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=event, before=None, after=model_snapshot(event)
    )
    event_invitations_sync(event_id=event.pk)
    return event


@transaction.atomic
def event_update(
    *,
    actor: Actor,
    event: Event,
    title: str,
    place: str,
    starts_at: datetime | None,
    ends_at: datetime | None = None,
    capacity: int | None = None,
) -> Event:
    """Change the event's title, place, time or seats (seats never below the guests who said yes)."""
    _require(actor, "campaigns.change_event")
    values = _clean_event(title=title, place=place, starts_at=starts_at, ends_at=ends_at, capacity=capacity)
    accepted = event.invitations.filter(rsvp=Rsvp.YES).count()
    if capacity is not None and capacity < accepted:
        raise ValidationFailed(
            {"capacity": [_("%(count)s guests have said yes already.") % {"count": accepted}]}
        )
    before = model_snapshot(event)
    for name, value in values.items():
        setattr(event, name, value)
    event.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=event, before=before, after=model_snapshot(event)
    )
    return event


@transaction.atomic
def event_invitations_sync(*, event_id: int) -> int:
    """Add every treatment customer of the event's campaign to its guest list (one INSERT ... SELECT).

    Safe to call again (after materialisation, say): customers already on the list are left as they are.
    Returns how many were added.
    """
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("No such event."))
    qn = connection.ops.quote_name
    invitation, decision = Invitation._meta.db_table, Decision._meta.db_table
    sql = f"""
        INSERT INTO {qn(invitation)} (event_id, customer_id, rsvp, attendance)
        SELECT %s, d.customer_id, %s, %s
        FROM {qn(decision)} d
        WHERE d.campaign_id = %s AND d.{qn("group")} = %s
          AND NOT EXISTS (
            SELECT 1 FROM {qn(invitation)} i WHERE i.event_id = %s AND i.customer_id = d.customer_id
          )
    """  # noqa: S608 - table names come from the models, every value is a parameter
    params: list[Any] = [
        event.pk,
        Rsvp.PENDING,
        Attendance.UNKNOWN,
        event.campaign_id,
        Group.TREATMENT,
        event.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


# --- reads ---


def event_guests(*, event: Event, query: str = "") -> QuerySet[Invitation]:
    """The event's guest list, by name; `query` finds a guest by name, phone, email or customer number."""
    guests = Invitation.objects.filter(event=event).select_related("customer", "checked_in_by")
    query = query.strip()
    if query:
        digits = digits_only(query)
        if digits and digits == to_ascii_digits(query).lstrip("#").replace(" ", ""):
            # A customer number, or a phone number typed with its leading zero (stored in E.164); a short number
            # is not looked for inside phone numbers and national IDs, where it would match everyone.
            condition = Q(customer__external_id=digits)
            if len(digits) <= 18:
                condition |= Q(customer_id=int(digits))
            if len(digits) >= 7:
                condition |= Q(customer__search_text__contains=digits.lstrip("0"))
        else:
            condition = Q(customer__search_text__contains=search_key(query)) | Q(customer__external_id=query)
        guests = guests.filter(condition)
    return guests.order_by("customer__last_name", "customer__first_name", "customer__organisation_name", "pk")


def event_counts(*, event: Event) -> dict[str, int]:
    """How many were invited, answered yes or no, came, and did not come."""
    return Invitation.objects.filter(event=event).aggregate(
        invited=Count("pk"),
        yes=Count("pk", filter=Q(rsvp=Rsvp.YES)),
        no=Count("pk", filter=Q(rsvp=Rsvp.NO)),
        attended=Count("pk", filter=Q(attendance=Attendance.ATTENDED)),
        no_show=Count("pk", filter=Q(attendance=Attendance.NO_SHOW)),
    )


def invitation_code(*, invitation_id: int) -> str:
    """The signed code printed as the guest's QR code; only Navid can make one."""
    return signing.dumps(invitation_id, salt=_CODE_SALT)


def invitation_qr_svg(*, invitation_id: int) -> str:
    """The guest's QR code as an SVG element (for the RSVP page and a printed badge)."""
    qr = segno.make(invitation_code(invitation_id=invitation_id), error="m")
    return str(qr.svg_inline(scale=6, border=2, omitsize=False))


def invitation_from_code(*, event: Event, code: str) -> Invitation:
    """The guest whose QR code was scanned; a code of another event or a made-up one is refused."""
    try:
        invitation_id = signing.loads(code.strip(), salt=_CODE_SALT)
    except signing.BadSignature as exc:
        raise ValidationFailed({"code": [_("This is not an invitation code of Navid.")]}) from exc
    invitation = Invitation.objects.filter(pk=invitation_id, event=event).first()
    if invitation is None:
        raise ValidationFailed({"code": [_("This invitation is for another event.")]})
    return invitation


# --- at the door and after ---


def _meeting(*, invitation: Invitation, outcome: str, at: datetime, actor: Actor, notes: str) -> Interaction:
    return Interaction.objects.create(
        customer_id=invitation.customer_id,
        kind=InteractionKind.MEETING,
        channel=InteractionChannel.FIELD,
        direction=Direction.INBOUND,
        occurred_at=at,
        outcome=outcome,
        employee=actor if actor is not None and actor.is_authenticated else None,
        campaign_id=invitation.event.campaign_id,
        notes=notes[:1000],
        source="campaign:attended",
    )


@transaction.atomic
def invitation_check_in(*, actor: Actor, invitation: Invitation) -> Invitation:
    """Check a guest in at the door; checking in twice is refused, so the guest is counted once."""
    _require(actor, CHECK_IN_PERMISSION)
    invitation = Invitation.objects.select_for_update().select_related("event").get(pk=invitation.pk)
    if invitation.attendance == Attendance.ATTENDED:
        raise Conflict(
            _("Already checked in at %(time)s.")
            % {"time": timezone.localtime(invitation.checked_in_at).strftime("%H:%M")}
        )
    # A guest marked a no-show who turns up late is checked in too: the no-show interaction stays in the
    # history and the arrival is recorded beside it.
    before = model_snapshot(invitation)
    now = timezone.now()
    invitation.attendance = Attendance.ATTENDED
    invitation.checked_in_at = now
    invitation.checked_in_by = actor
    invitation.save(update_fields=["attendance", "checked_in_at", "checked_in_by"])
    _meeting(
        invitation=invitation, outcome=Outcome.COMPLETED, at=now, actor=actor, notes=invitation.event.title
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=invitation,
        before=before,
        after=model_snapshot(invitation),
        record=invitation.event,
    )
    return invitation


@transaction.atomic
def event_no_shows_mark(*, actor: Actor, event: Event) -> int:
    """After the event, mark every guest who said yes and was not checked in as a no-show; returns how many."""
    _require(actor, CHECK_IN_PERMISSION)
    event = Event.objects.select_for_update().get(pk=event.pk)
    now = timezone.now()
    if (event.ends_at or event.starts_at) > now:
        raise Conflict(_("No-shows can be marked only after the event."))
    qn = connection.ops.quote_name
    waiting = Q(event=event, rsvp=Rsvp.YES, attendance=Attendance.UNKNOWN)
    # The interactions first, one INSERT ... SELECT over the same rows the UPDATE then marks.
    sql = f"""
        INSERT INTO {qn(Interaction._meta.db_table)}
            (customer_id, kind, channel, direction, occurred_at, outcome, cost, employee_id, campaign_id,
             notes, request_open, created_at, source)
        SELECT i.customer_id, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, %s, %s
        FROM {qn(Invitation._meta.db_table)} i
        WHERE i.event_id = %s AND i.rsvp = %s AND i.attendance = %s
    """  # noqa: S608 - table names come from the models, every value is a parameter
    params: list[Any] = [
        InteractionKind.MEETING,
        InteractionChannel.FIELD,
        Direction.INBOUND,
        connection.ops.adapt_datetimefield_value(event.ends_at or event.starts_at),
        Outcome.FAILED,
        actor.pk if actor is not None and actor.is_authenticated else None,
        event.campaign_id,
        _("Did not come: %(event)s") % {"event": event.title},
        False,
        connection.ops.adapt_datetimefield_value(now),
        "campaign:no_show",
        event.pk,
        Rsvp.YES,
        Attendance.UNKNOWN,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    marked = Invitation.objects.filter(waiting).update(attendance=Attendance.NO_SHOW)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=event,
        before={"no_shows": event_counts(event=event)["no_show"] - marked},
        after={"no_shows": event_counts(event=event)["no_show"]},
    )
    return marked
