"""Models of sales: follow-ups (R7.4), applications (R7.2), leads and their distribution (R7.3, R7.4)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import Branch, Region
from navid.campaigns.models import Campaign
from navid.core.errors import ValidationFailed
from navid.core.models import TimeStampedModel
from navid.customers.models import Customer, Language, ProductType
from navid.offers.models import Offer


class FollowUpSource(models.TextChoices):
    """Where a follow-up task came from; other apps create them through `sales.services.followup_create`."""

    SURVEY_DETRACTOR = "survey_detractor", _("Survey detractor")
    CALL_INTERESTED = "call_interested", _("Interested on a call")
    REQUEST = "request", _("Customer request")
    COMPLAINT = "complaint", _("Complaint")
    LEAD = "lead", _("Sales lead")
    MANUAL = "manual", _("Entered by hand")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONTACTED = "contacted", _("Contacted")
    RESOLVED = "resolved", _("Resolved")


class FollowUp(TimeStampedModel):
    """Work owed to one customer by one employee, with a due date, tracked from open to resolved (R7.4)."""

    follows_customer_merge = True

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("customer")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("assigned to"),
    )
    source = models.CharField(_("source"), max_length=20, choices=FollowUpSource.choices)
    # What created it, e.g. "survey-response:12"; with the source it makes creation idempotent.
    source_ref = models.CharField(_("source reference"), max_length=80, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=200)
    details = models.TextField(_("details"), blank=True, default="")
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    outcome = models.TextField(_("outcome"), blank=True, default="")
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_ref"], condition=~Q(source_ref=""), name="followup_source_once"
            )
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"]),
            models.Index(fields=["status", "due_at"]),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_overdue(self) -> bool:
        return self.status != FollowUpStatus.RESOLVED and self.due_at < timezone.now()


# --- applications (R7.2) ---


class ApplicationChannel(models.TextChoices):
    """Where an application was made."""

    BRANCH = "branch", _("Branch")
    CONTACT_CENTRE = "contact_centre", _("Contact centre")
    FIELD_AGENT = "field_agent", _("Field agent")
    KIOSK = "kiosk", _("Self-service kiosk")
    API = "api", _("Web or API")


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ProductRequirement(TimeStampedModel):
    """What an application for one product must carry: its fields and documents, edited by the bank.

    `fields` is a list of {"name", "label", "type" (text, number, date, yes_no), "required"};
    `documents` a list of {"kind", "label", "required"}; checked by `sales.requirements.requirements_parse`.
    """

    product_type = models.OneToOneField(
        ProductType, on_delete=models.CASCADE, related_name="sales_requirement", verbose_name=_("product")
    )
    fields = models.JSONField(_("fields"), default=list, blank=True)
    documents = models.JSONField(_("documents"), default=list, blank=True)

    class Meta:
        verbose_name = _("application requirement")
        verbose_name_plural = _("application requirements")

    def __str__(self) -> str:
        return str(self.product_type)

    def clean(self) -> None:
        from navid.sales.requirements import requirements_parse

        try:
            requirements_parse(fields=self.fields, documents=self.documents)
        except ValidationFailed as exc:
            grouped: dict[str, list[str]] = {}
            for key, reasons in exc.errors.items():
                grouped.setdefault(key.split(".")[0], []).extend(f"{key}: {r}" for r in reasons)
            raise ValidationError(grouped) from exc


class KioskDevice(TimeStampedModel):
    """A self-service tablet allowed to take applications; its key is shown once and stored as a SHA-256 digest."""

    name = models.CharField(_("name"), max_length=100)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("branch")
    )
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    # Identification attempts that matched nobody, in a row; too many lock the kiosk's identification for a while.
    failed_identifications = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(_("identification locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("kiosk device")
        verbose_name_plural = _("kiosk devices")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Application(TimeStampedModel):
    """A customer's application for a product, from one point of sale, worked from submitted to a decision."""

    follows_customer_merge = True

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="applications", verbose_name=_("customer")
    )
    product_type = models.ForeignKey(
        ProductType, on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("offer")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=ApplicationChannel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    values = models.JSONField(_("answers"), default=dict, blank=True)
    # Given by the caller (API header, form token): the same key never creates a second application.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    submitted_on = models.DateField(_("submitted on"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taken by"),
    )
    kiosk = models.ForeignKey(
        KioskDevice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("kiosk"),
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "product_type", "submitted_on"], name="application_once_a_day"
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]
        permissions = [("decide_application", _("Can review, approve and reject applications"))]

    def __str__(self) -> str:
        return f"{self.product_type} — {self.customer}"


def _document_path(instance: ApplicationDocument, filename: str) -> str:
    suffix = Path(filename).suffix.lower()[:10]
    return f"sales/applications/{instance.application_id}/{uuid.uuid4().hex}{suffix}"


class ApplicationDocument(models.Model):
    """One document of an application (a scan of the ID card, a payslip ...), stored under MEDIA_ROOT."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=50)
    file = models.FileField(_("file"), upload_to=_document_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ["kind", "pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.original_name}"


# --- leads and distribution (R7.3, R7.4) ---


class LeadSource(models.TextChoices):
    CAMPAIGN_RESPONSE = "campaign_response", _("Campaign response")
    CALL_INTERESTED = "call_interested", _("Interested on a call")
    APPLICATION = "application", _("Application")
    MANUAL = "manual", _("Entered by hand")


class LeadStage(models.TextChoices):
    """The pipeline; a lead moves one stage forward at a time, or is lost from any open stage."""

    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    MEETING = "meeting", _("Meeting")
    PROPOSAL = "proposal", _("Proposal")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_STAGES = (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.MEETING, LeadStage.PROPOSAL)
CLOSED_STAGES = (LeadStage.WON, LeadStage.LOST)


class Lead(TimeStampedModel):
    """A chance to sell a product to a customer, owned by one manager and moved through the pipeline."""

    follows_customer_merge = True

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="leads", verbose_name=_("customer")
    )
    product_type = models.ForeignKey(
        ProductType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices)
    # What created it, e.g. "campaign:4:customer:17" or "application:9"; with the source, creation is idempotent.
    source_ref = models.CharField(_("source reference"), max_length=80, blank=True, default="")
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("campaign"),
    )
    application = models.ForeignKey(
        Application,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("application"),
    )
    stage = models.CharField(_("stage"), max_length=10, choices=LeadStage.choices, default=LeadStage.NEW)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    due_at = models.DateTimeField(_("next step due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("assigned to"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    assigned_by_rule = models.ForeignKey(
        "DistributionRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned by rule"),
    )
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    # first_contact_at - assigned_at in seconds, kept so that KPIs average it in SQL on every database.
    response_seconds = models.PositiveIntegerField(_("response time (s)"), null=True, blank=True)
    value = models.DecimalField(
        _("value"), max_digits=18, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_ref"], condition=~Q(source_ref=""), name="lead_source_once"
            )
        ]
        indexes = [
            models.Index(fields=["assignee", "stage", "due_at"]),
            models.Index(fields=["stage", "due_at"]),
        ]
        permissions = [
            ("reassign_lead", _("Can give leads to another manager")),
            ("view_sales_kpis", _("Can see the sales funnel and KPIs")),
        ]

    def __str__(self) -> str:
        product = f" — {self.product_type}" if self.product_type_id else ""
        return f"{self.customer}{product}"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < timezone.now()


class LeadStageSpan(models.Model):
    """The time a lead spent in one stage: the funnel counts these and averages their length."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="spans")
    stage = models.CharField(_("stage"), max_length=10, choices=LeadStage.choices)
    entered_at = models.DateTimeField(_("entered at"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    seconds = models.PositiveIntegerField(_("seconds in stage"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("lead stage span")
        verbose_name_plural = _("lead stage spans")
        constraints = [models.UniqueConstraint(fields=["lead", "stage"], name="lead_stage_once")]
        indexes = [models.Index(fields=["stage", "entered_at"])]

    def __str__(self) -> str:
        return f"{self.lead_id}:{self.stage}"


class DistributionStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin among the managers")
    LEAST_LOADED = "least_loaded", _("The manager with the fewest open leads")
    FIXED = "fixed", _("One fixed manager")


class DistributionRule(TimeStampedModel):
    """Which managers get the leads that match: the first active matching rule with an active manager wins."""

    position = models.PositiveIntegerField(_("order"), default=100)
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("branch")
    )
    product_type = models.ForeignKey(
        ProductType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    language = models.CharField(
        _("customer's language"), max_length=2, choices=Language.choices, blank=True, default=""
    )
    strategy = models.CharField(_("strategy"), max_length=12, choices=DistributionStrategy.choices)
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", blank=True, verbose_name=_("managers")
    )
    # Round robin: the manager who got the last lead; the next one goes to the next manager by id.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("distribution rule")
        verbose_name_plural = _("distribution rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name
