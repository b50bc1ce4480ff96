"""The bank's contact policy (R4.3): its rules in their fixed order, the time a message may go out, and its edit.

Materialisation (navid/campaigns/materialise.py) turns these rules into SQL; this module holds what the rules
are, the Python side of quiet hours and days off (one computation per time zone, never per customer), and the
service that changes the policy. docs/contact-policy.md explains every decision.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import AuditAction, Region
from navid.accounts.services import Actor, audit_record, model_snapshot
from navid.campaigns.models import CampaignChannel, ContactPolicy, Goal
from navid.core.errors import PermissionDenied, ValidationFailed
from navid.customers.models import Channel, ConsentPurpose


class Rule(models.TextChoices):
    """Why a customer of the audience is excluded; a customer carries the first rule that fails, in this order."""

    DELETED = "deleted", _("Deleted or merged customer")
    EXCLUSION_SEGMENT = "exclusion_segment", _("In an exclusion segment")
    DO_NOT_CONTACT = "do_not_contact", _("Do not contact")
    CONSENT = "consent", _("No consent for any channel of the campaign")
    NO_ADDRESS = "no_address", _("No address for any allowed channel")
    SUPPRESSED = "suppressed", _("Every allowed address is suppressed")
    FREQUENCY = "frequency", _("Contacted too often in the period")
    MIN_GAP = "min_gap", _("Contacted too recently")
    CHANNEL_FREQUENCY = "channel_frequency", _("Every allowed channel used too often in the period")


# The order in which the rules are checked; the first that fails is the customer's rule.
RULE_ORDER: tuple[str, ...] = tuple(Rule.values)

# The consent (customers.Consent.channel) a campaign channel needs: event invitations go out by email.
CONSENT_CHANNEL: dict[str, str] = {
    CampaignChannel.EMAIL: Channel.EMAIL,
    CampaignChannel.EVENT: Channel.EMAIL,
    CampaignChannel.SMS: Channel.SMS,
    CampaignChannel.PHONE: Channel.PHONE,
    CampaignChannel.MAIL: Channel.MAIL,
}
# The suppression entries (campaigns.Suppression.channel) that block a campaign channel's address: a number
# that is invalid for SMS is invalid for calls too.
SUPPRESSION_CHANNELS: dict[str, tuple[str, ...]] = {
    CampaignChannel.EMAIL: (CampaignChannel.EMAIL, CampaignChannel.EVENT),
    CampaignChannel.EVENT: (CampaignChannel.EMAIL, CampaignChannel.EVENT),
    CampaignChannel.SMS: (CampaignChannel.SMS, CampaignChannel.PHONE),
    CampaignChannel.PHONE: (CampaignChannel.SMS, CampaignChannel.PHONE),
    CampaignChannel.MAIL: (CampaignChannel.MAIL,),
}
# The policy field that says what a missing consent record means for a consent channel.
WITHOUT_CONSENT_FIELD: dict[str, str] = {
    Channel.EMAIL: "email_without_consent",
    Channel.SMS: "sms_without_consent",
    Channel.PHONE: "phone_without_consent",
    Channel.MAIL: "mail_without_consent",
}

# The fields a segment manager edits.
EDITABLE_FIELDS: tuple[str, ...] = (
    "email_without_consent",
    "sms_without_consent",
    "phone_without_consent",
    "mail_without_consent",
    "quiet_start",
    "quiet_end",
    "quiet_channels",
    "weekend_days",
    "max_contacts",
    "max_contacts_per_channel",
    "period_days",
    "min_gap_days",
)


def consent_purpose(*, goal: str) -> str:
    """The consent purpose a campaign needs: a satisfaction survey asks for `surveys`, every other goal `marketing`."""
    return ConsentPurpose.SURVEYS if goal == Goal.SATISFACTION else ConsentPurpose.MARKETING


def allowed_without_consent(*, policy: ContactPolicy, channel: str) -> bool:
    """What a missing consent record means for a campaign channel under the policy."""
    return bool(getattr(policy, WITHOUT_CONSENT_FIELD[CONSENT_CHANNEL[channel]]))


def contact_policy_get() -> ContactPolicy:
    """The bank's contact policy (its defaults until a segment manager saves it)."""
    return ContactPolicy.load()


def _is_quiet(moment: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # the quiet hours run over midnight


def _local(day: dt.date, at: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """`day` at `at` on the wall clock of `zone` (a time skipped by a clock change moves past the change)."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC).astimezone(zone)


def next_allowed_moment(*, after: dt.datetime, zone: zoneinfo.ZoneInfo, policy: ContactPolicy) -> dt.datetime:
    """The first moment at or after `after` that is neither in quiet hours nor on a day off in `zone` (UTC)."""
    start, end = policy.quiet_start, policy.quiet_end
    days_off = set(policy.weekend_days)
    if len(days_off) >= 7:
        raise ValueError("a policy must leave at least one day of the week open")
    local = after.astimezone(zone)
    # Each step moves to a day's start or to the end of quiet hours; a week of steps always finds an open moment.
    for _step in range(32):
        if local.weekday() in days_off:
            local = _local(local.date() + dt.timedelta(days=1), dt.time(0, 0), zone)
            continue
        now = local.time()
        if _is_quiet(now, start, end):
            day = local.date()
            if start > end and now >= start:
                day += dt.timedelta(days=1)  # evening: quiet hours end tomorrow morning
            local = _local(day, end, zone)
            continue
        return local.astimezone(dt.UTC)
    raise ValueError("no open moment found within a week")


def default_time_zone() -> zoneinfo.ZoneInfo:
    """The bank's time zone (settings.TIME_ZONE), used for customers whose region names none."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def region_time_zones() -> dict[str, list[int]]:
    """Regions whose time zone differs from the bank's, grouped by time zone name: {zone: [region ids]}."""
    groups: dict[str, list[int]] = {}
    for pk, name in Region.objects.exclude(time_zone="").order_by("pk").values_list("pk", "time_zone"):
        if name != settings.TIME_ZONE:
            groups.setdefault(name, []).append(pk)
    return groups


@transaction.atomic
def contact_policy_update(*, actor: Actor, values: Mapping[str, Any]) -> ContactPolicy:
    """Change the bank's contact policy (segment managers); checked, saved and written to the audit log."""
    if actor is None or not actor.has_perm("campaigns.change_contactpolicy"):
        raise PermissionDenied(_("You may not change the contact policy."))
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed({name: [str(_("is not a setting of the contact policy"))] for name in unknown})
    # Until first saved, the policy is its defaults: the audit entry shows the change from them.
    policy = ContactPolicy.objects.select_for_update().filter(pk=1).first() or ContactPolicy(pk=1)
    before = model_snapshot(policy)
    for name, value in values.items():
        setattr(policy, name, value)
    days = policy.weekend_days
    if isinstance(days, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        policy.weekend_days = sorted(set(days))
    channels = policy.quiet_channels
    if isinstance(channels, list) and all(c in CampaignChannel.values for c in channels):
        policy.quiet_channels = [c for c in CampaignChannel.values if c in channels]
    try:
        policy.full_clean(exclude=["updated_by"])
    except ValidationError as exc:
        raise ValidationFailed(
            {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        ) from exc
    policy.updated_by = actor if actor.is_authenticated else None
    policy.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=policy,
        before=before,
        after=model_snapshot(policy),
    )
    return policy
