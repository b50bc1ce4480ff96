"""Interactions and feedback (R2): every touch with a prospect or customer, on any channel, in and out."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navid.core.models import ReferenceItem, TimeStampedModel
from navid.customers.models import Customer, ProductType


class ComplaintCategory(ReferenceItem):
    """What a complaint is about (R2.2), e.g. cards, fees, waiting time."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("complaint category")
        verbose_name_plural = _("complaint categories")


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    BRANCH_VISIT = "branch_visit", _("Branch visit")
    WEB_VISIT = "web_visit", _("Web visit")
    REFERRAL = "referral", _("Referral")
    INQUIRY = "inquiry", _("Inquiry")
    COMPLAINT = "complaint", _("Complaint")
    REQUEST = "request", _("Request")
    MEETING = "meeting", _("Meeting")
    SOCIAL = "social", _("Social media")


class InteractionChannel(models.TextChoices):
    """Where the interaction happened."""

    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    POST = "post", _("Post")
    BRANCH = "branch", _("Branch")
    WEB = "web", _("Website")
    MOBILE_APP = "mobile_app", _("Mobile app")
    SOCIAL = "social", _("Social media")
    FIELD = "field", _("Field visit")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Outcome(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    FAILED = "failed", _("Failed")
    INTERESTED = "interested", _("Interested")
    NOT_INTERESTED = "not_interested", _("Not interested")
    CALLBACK = "callback", _("Call back")
    RESOLVED = "resolved", _("Resolved")
    OPEN = "open", _("Open")
    OTHER = "other", _("Other")


class Interaction(models.Model):
    """One touch with a customer or prospect, with its outcome, cost, employee and explicit feedback.

    Column names are part of the segment rules' vocabulary (`interactions__kind`, `occurred_at`, ...);
    renaming one breaks saved segments.
    """

    # customers.services.customer_merge moves the rows of models that say so to the surviving customer.
    follows_customer_merge = True

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="interactions",
        verbose_name=_("customer"),
        db_index=False,  # served by the composite indexes below, which start with the customer
    )
    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=InteractionChannel.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    occurred_at = models.DateTimeField(_("time"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, default=0)
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("employee"),
        db_index=False,  # every index slows the feeds; add one when reports by employee need it
    )
    # The campaign that made this contact. A plain id: the campaigns app sits to the right of this one in the
    # import layers and will own the foreign key (or a view joining on this column).
    campaign_id = models.BigIntegerField(_("campaign"), null=True, blank=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)
    # Explicit feedback (R2.2): a rating, a complaint and its category, a product returned, an open request.
    rating = models.PositiveSmallIntegerField(
        _("rating (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    complaint_category = models.ForeignKey(
        ComplaintCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("complaint category"),
        db_index=False,
    )
    returned_product = models.ForeignKey(
        ProductType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("returned product"),
        db_index=False,
    )
    request_open = models.BooleanField(_("still open"), default=False)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    # Where the row came from: "ui", "api", "ingest:<job id>" or "demo".
    source = models.CharField(_("source"), max_length=40)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        permissions = [("ingest_interactions", _("Can ingest interaction files"))]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_time_idx"),
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_time_idx"),
            models.Index(fields=["customer", "kind", "occurred_at"], name="interaction_cust_kind_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="interaction_rating_1_to_5",
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="interaction_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"

    @property
    def duration_text(self) -> str:
        """The duration as h:mm:ss or m:ss; empty when not known."""
        if self.duration_seconds is None:
            return ""
        hours, rest = divmod(self.duration_seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class InteractionIngestJob(TimeStampedModel):
    """One file of interactions fed in (CSV or JSON lines): its progress and its report of rejected lines."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        JSONL = "jsonl", _("JSON lines")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    file_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500)
    checksum = models.CharField(max_length=64, blank=True, db_index=True)  # SHA-256 of the file
    format = models.CharField(_("format"), max_length=5, choices=Format.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    rows_total = models.PositiveIntegerField(_("lines"), default=0)
    # The last line whose batch is committed: a second run of the job resumes after it.
    rows_done = models.PositiveIntegerField(_("lines read"), default=0)
    accepted_count = models.PositiveIntegerField(_("accepted"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    errors = models.JSONField(_("rejected lines"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("interaction ingest")
        verbose_name_plural = _("interaction ingests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def source(self) -> str:
        """The `source` of the interactions this job writes."""
        return f"ingest:{self.pk}"

    @property
    def percent(self) -> int:
        if self.state in {self.State.SUCCEEDED, self.State.FAILED}:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))
