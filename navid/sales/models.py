"""Models of sales: follow-up tasks about a customer, tracked until closed (R7.4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import Customer


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
