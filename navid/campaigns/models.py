"""Campaigns (R4): the plan, its messages and budget, who is targeted and why, and the outbox of messages.

The data flow is in docs/architecture.md: segments -> snapshots -> decision rows (treatment, control or excluded
with the rule) -> outbox messages -> workers and channel adapters -> interactions -> results.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import Customer, ProductType
from navid.offers.models import Offer
from navid.segments.models import Segment, Snapshot


class Goal(models.TextChoices):
    ACQUISITION = "acquisition", _("Acquisition")
    CROSS_SELL = "cross_sell", _("Cross-sell")
    RETENTION = "retention", _("Retention")
    SATISFACTION = "satisfaction", _("Satisfaction measurement")


class CampaignChannel(models.TextChoices):
    """The channels a campaign can use; the values match `customers.Channel` where both exist."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    MAIL = "mail", _("Direct mail")
    EVENT = "event", _("Event invitation")
    PHONE = "phone", _("Telemarketing")


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    STOPPED = "stopped", _("Stopped")


class Brand(TimeStampedModel):
    """One look for every channel of a campaign: sender, header, footer and colours."""

    name = models.CharField(_("name"), max_length=100)
    sender_name = models.CharField(_("sender name"), max_length=100)
    email_from = models.EmailField(_("email sender address"))
    sms_sender = models.CharField(_("SMS sender ID"), max_length=16, blank=True)
    header_text = models.CharField(_("header"), max_length=200, blank=True)
    footer_text = models.TextField(_("footer"), blank=True)
    primary_color = models.CharField(_("main colour"), max_length=7, default="#0b5394")
    accent_color = models.CharField(_("accent colour"), max_length=7, default="#f1c232")
    postal_address = models.CharField(_("postal address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("brand layout")
        verbose_name_plural = _("brand layouts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(TimeStampedModel):
    """A series of activities toward one goal, from plan to results (R4.1, R4.2)."""

    name = models.CharField(_("name"), max_length=200)
    goal = models.CharField(_("goal"), max_length=16, choices=Goal.choices)
    description = models.TextField(_("plan"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="campaigns_owned",
        verbose_name=_("owner"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    target_segments = models.ManyToManyField(
        Segment, related_name="campaigns_targeting", verbose_name=_("target segments")
    )
    exclusion_segments = models.ManyToManyField(
        Segment, related_name="campaigns_excluding", blank=True, verbose_name=_("exclusion segments")
    )
    offer = models.ForeignKey(
        Offer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("offer"),
    )
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("brand"),
    )
    starts_at = models.DateTimeField(_("start"), null=True, blank=True)
    ends_at = models.DateTimeField(_("end"), null=True, blank=True)
    # Repetition: wave n+1 goes `repeat_every_days` after wave n to the treatment customers who have not responded,
    # at most `waves_max` waves in all.
    waves_max = models.PositiveSmallIntegerField(
        _("waves at most"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    repeat_every_days = models.PositiveSmallIntegerField(_("repeat every (days)"), default=7)
    response_window_days = models.PositiveSmallIntegerField(
        _("response window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    conversion_product_type = models.ForeignKey(
        ProductType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("conversion: the customer opens"),
        help_text=_("Empty means the offer's product."),
    )
    control_percent = models.DecimalField(
        _("control group (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
    )
    control_seed = models.BigIntegerField(_("control group seed"), null=True, blank=True)
    budget_planned = models.DecimalField(
        _("planned budget"), max_digits=18, decimal_places=2, default=Decimal("0")
    )
    cost_actual = models.DecimalField(_("actual cost"), max_digits=18, decimal_places=2, default=Decimal("0"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    snapshots = models.ManyToManyField(Snapshot, related_name="+", blank=True, verbose_name=_("snapshots"))
    materialised_at = models.DateTimeField(_("contact list written at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at", "-id"]
        permissions = [
            ("approve_campaign", _("Can approve or reject campaigns")),
            ("run_campaign", _("Can launch, pause, resume and stop campaigns")),
        ]

    def __str__(self) -> str:
        return self.name


class ChannelPlan(models.Model):
    """One channel of a campaign: its place in the priority order, unit cost, planned cost and send rate."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="channel_plans")
    channel = models.CharField(_("channel"), max_length=8, choices=CampaignChannel.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=1, help_text=_("1 is tried first."))
    unit_cost = models.DecimalField(
        _("cost per contact"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    planned_cost = models.DecimalField(
        _("planned cost"), max_digits=18, decimal_places=2, default=Decimal("0")
    )
    rate_per_second = models.PositiveIntegerField(_("messages per second at most"), default=100)

    class Meta:
        verbose_name = _("channel plan")
        verbose_name_plural = _("channel plans")
        ordering = ["campaign", "priority"]
        constraints = [models.UniqueConstraint(fields=["campaign", "channel"], name="channel_plan_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.channel}"


class MessageTemplate(models.Model):
    """The message of one channel in one language; `{first_name}`-style fields are filled per customer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="templates")
    channel = models.CharField(_("channel"), max_length=8, choices=CampaignChannel.choices)
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "language"], name="message_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.channel}:{self.language}"


class Wave(models.Model):
    """One round of sending: wave 1 at the start, later waves repeat to those who have not responded."""

    class WaveState(models.TextChoices):
        PLANNED = "planned", _("Planned")
        WRITTEN = "written", _("Messages written")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="waves")
    number = models.PositiveSmallIntegerField(_("wave"))
    scheduled_at = models.DateTimeField(_("scheduled at"))
    state = models.CharField(_("state"), max_length=10, choices=WaveState.choices, default=WaveState.PLANNED)
    messages = models.PositiveIntegerField(_("messages"), default=0)

    class Meta:
        verbose_name = _("wave")
        verbose_name_plural = _("waves")
        ordering = ["campaign", "number"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="wave_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.number}"


class Group(models.TextChoices):
    TREATMENT = "treatment", _("Treatment")
    CONTROL = "control", _("Control")
    EXCLUDED = "excluded", _("Excluded")


class Decision(models.Model):
    """One customer of the campaign's audience: in treatment, in control, or excluded and by which rule."""

    # Written by one INSERT ... SELECT per campaign; only the unique index is kept up to date. No database foreign
    # keys: the rows are written for the campaign row materialisation holds locked, from its snapshot's customers
    # (ADR 0006); Django still deletes them with their campaign.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="decisions", db_constraint=False, db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    group = models.CharField(_("group"), max_length=10, choices=Group.choices)
    # A rule code of navid.campaigns.policy (empty unless excluded), e.g. "consent", "quiet_period", "frequency".
    rule = models.CharField(_("excluded by"), max_length=24, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=CampaignChannel.choices, blank=True)

    class Meta:
        verbose_name = _("targeting decision")
        verbose_name_plural = _("targeting decisions")
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="decision_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}:{self.group}"


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    CLAIMED = "claimed", _("Being sent")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    SKIPPED = "skipped", _("Not sent (consent withdrawn)")
    CANCELLED = "cancelled", _("Cancelled")


class OutboxMessage(models.Model):
    """One message to send; workers claim batches with a lease, and the idempotency key makes it go out once."""

    # No database foreign keys (ADR 0006): written set-based from the campaign's own decision rows.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="outbox", db_constraint=False, db_index=False
    )
    wave = models.PositiveSmallIntegerField(_("wave"), default=1)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=CampaignChannel.choices)
    language = models.CharField(_("language"), max_length=2)
    address = models.CharField(_("address"), max_length=500)
    # "<campaign>:<wave>:<customer>:<channel>": a retried claim can never create a second message. Unique by a
    # constraint rather than unique=True, which on PostgreSQL adds a second (LIKE pattern) index nothing uses.
    idempotency_key = models.CharField(max_length=80)
    state = models.CharField(
        _("state"), max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    send_after = models.DateTimeField(_("not before"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, default=Decimal("0"))
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [models.Index(fields=["campaign", "state"], name="outbox_campaign_state")]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="outbox_idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class Suppression(models.Model):
    """An address no campaign may use again: a hard bounce, an invalid number, a complaint (bank-wide)."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        INVALID_NUMBER = "invalid_number", _("Invalid number")
        RETURNED_MAIL = "returned_mail", _("Letter returned")
        COMPLAINT = "complaint", _("Spam complaint")

    channel = models.CharField(_("channel"), max_length=8, choices=CampaignChannel.choices)
    address = models.CharField(_("address"), max_length=500)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="suppression_unique")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


# --- Responses, events and attribution (navid/campaigns/tracking.py, events.py, attribution.py) ---


class ResponseKind(models.TextChoices):
    """What a customer did with a message; each happens at most once per message."""

    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked a link")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    RSVP_YES = "rsvp_yes", _("Will attend")
    RSVP_NO = "rsvp_no", _("Will not attend")
    REPLIED = "replied", _("Replied")


class MessageResponse(models.Model):
    """One response to one outbox message; the unique key keeps a second open or click from counting twice."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="responses")
    kind = models.CharField(_("response"), max_length=12, choices=ResponseKind.choices)
    occurred_at = models.DateTimeField(_("time"))
    # The interaction written for it (interactions.Interaction), kept as a plain id like Interaction.campaign_id.
    interaction_id = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("message response")
        verbose_name_plural = _("message responses")
        constraints = [models.UniqueConstraint(fields=["message", "kind"], name="message_response_unique")]

    def __str__(self) -> str:
        return f"{self.message_id}:{self.kind}"


class Event(TimeStampedModel):
    """The event an event campaign invites its treatment customers to: where, when, and how many seats."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="event", verbose_name=_("campaign")
    )
    title = models.CharField(_("title"), max_length=200)
    place = models.CharField(_("place"), max_length=300)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    capacity = models.PositiveIntegerField(
        _("seats"), null=True, blank=True, help_text=_("Empty means no limit.")
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at"]
        permissions = [("check_in_guests", _("Can check guests in at events and mark no-shows"))]

    def __str__(self) -> str:
        return self.title


class Rsvp(models.TextChoices):
    PENDING = "pending", _("No answer yet")
    YES = "yes", _("Will attend")
    NO = "no", _("Will not attend")


class Attendance(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked in")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("Did not come")


class Invitation(models.Model):
    """One invited customer of an event: the answer to the invitation and whether they came."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    rsvp = models.CharField(_("answer"), max_length=8, choices=Rsvp.choices, default=Rsvp.PENDING)
    rsvp_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    attendance = models.CharField(
        _("attendance"), max_length=8, choices=Attendance.choices, default=Attendance.UNKNOWN
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked in by"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["event", "customer"], name="invitation_unique")]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.customer_id}"


class CampaignOutcome(models.Model):
    """A customer of the campaign's treatment or control group who responded or converted within the window.

    Rewritten as a whole by `attribution.attribution_recompute` (one INSERT ... SELECT), never edited.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outcomes", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    group = models.CharField(_("group"), max_length=10, choices=Group.choices)
    responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    converted_on = models.DateField(_("converted on"), null=True, blank=True)
    product_type = models.ForeignKey(
        ProductType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product opened"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("campaign outcome")
        verbose_name_plural = _("campaign outcomes")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_outcome_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}:{self.group}"


def _default_quiet_channels() -> list[str]:
    return [CampaignChannel.SMS.value, CampaignChannel.PHONE.value]


def _default_weekend_days() -> list[int]:
    return [4]  # Python's weekday numbers (Monday is 0): Friday, Iran's day off


class ContactPolicy(models.Model):
    """The bank's one contact policy (R4.3): consent, quiet hours, days off, frequency caps, gap between contacts.

    One row (id 1); `navid.campaigns.policy` reads and changes it, and docs/contact-policy.md explains each rule.
    """

    # What a missing consent record means, per channel: True allows the contact (opt-out), False forbids it (opt-in).
    email_without_consent = models.BooleanField(_("email: allowed without a consent record"), default=False)
    sms_without_consent = models.BooleanField(_("SMS: allowed without a consent record"), default=False)
    phone_without_consent = models.BooleanField(_("calls: allowed without a consent record"), default=False)
    mail_without_consent = models.BooleanField(_("letters: allowed without a consent record"), default=True)
    quiet_start = models.TimeField(_("quiet hours start"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=dt.time(8, 0))
    quiet_channels = models.JSONField(
        _("channels that keep quiet hours and days off"), default=_default_quiet_channels
    )
    weekend_days = models.JSONField(_("days off"), default=_default_weekend_days)
    max_contacts = models.PositiveSmallIntegerField(
        _("contacts per customer at most"),
        null=True,
        blank=True,
        default=4,
        validators=[MinValueValidator(1)],
        help_text=_("Across all campaigns and channels in the period; empty means no limit."),
    )
    max_contacts_per_channel = models.PositiveSmallIntegerField(
        _("contacts per customer and channel at most"),
        null=True,
        blank=True,
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_("On any one channel in the period; empty means no limit."),
    )
    period_days = models.PositiveSmallIntegerField(
        _("period (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    min_gap_days = models.PositiveSmallIntegerField(
        _("days between two contacts at least"),
        default=2,
        validators=[MaxValueValidator(90)],
        help_text=_("0 means no minimum gap."),
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("contact policy")
        verbose_name_plural = _("contact policy")

    def __str__(self) -> str:
        return str(_("Contact policy"))

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Channels and days must be known ones, and at least one day of the week must be open."""
        errors: dict[str, list[Any]] = {}
        channels = self.quiet_channels
        if not isinstance(channels, list) or any(c not in CampaignChannel.values for c in channels):
            errors["quiet_channels"] = [_("Choose channels from the list.")]
        days = self.weekend_days
        if not isinstance(days, list) or any(
            isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days
        ):
            errors["weekend_days"] = [_("Choose days of the week from the list.")]
        elif len(set(days)) == 7:
            errors["weekend_days"] = [_("At least one day of the week must be open for contacts.")]
        if (
            self.max_contacts is not None
            and self.max_contacts_per_channel is not None
            and self.max_contacts_per_channel > self.max_contacts
        ):
            errors["max_contacts_per_channel"] = [
                _("cannot be more than the contacts per customer at most (%(n)s)") % {"n": self.max_contacts}
            ]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> ContactPolicy:
        """The policy row; an unsaved row with the documented defaults if nobody has saved one yet."""
        return cls._default_manager.filter(pk=1).first() or cls(pk=1)


class ResultSnapshot(models.Model):
    """The last counted results of a large campaign, so that its page does not count a million rows each time.

    Written only by `results.results_current` and the attribution task; `data` is the pickled
    `results.CampaignResults` of format `format` (another format is counted again, never read).
    """

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="result_snapshot"
    )
    format = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField()
    targeted = models.PositiveIntegerField()
    data = models.BinaryField()
    # When a recount was last asked for: at most one is queued at a time.
    refresh_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("campaign results snapshot")
        verbose_name_plural = _("campaign results snapshots")

    def __str__(self) -> str:
        return f"{self.campaign_id} @ {self.computed_at:%Y-%m-%d %H:%M}"
