"""Segments (R3.1) and each customer's computed ranking, value and lifecycle (R3.2, R3.3, R6.2)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import Customer


class Segment(TimeStampedModel):
    """A named set of customers: dynamic (a rule tree evaluated when asked) or static (an uploaded list)."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic (rules)")
        STATIC = "static", _("Static (uploaded list)")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    # The rule tree (navid.segments.rules.SegmentDefinition), stored with its grammar version.
    definition = models.JSONField(_("rules"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("owner")
    )
    is_archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        permissions = [("snapshot_segment", _("Can freeze the membership of a segment"))]

    def __str__(self) -> str:
        return self.name


class StaticMember(models.Model):
    """One customer of a static segment."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="static_members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="static_member_unique")]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.customer_id}"


class Snapshot(models.Model):
    """The membership of a segment frozen at one moment; campaigns work from snapshots."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="snapshots")
    definition = models.JSONField(_("rules"), default=dict)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    message = models.TextField(blank=True)

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.segment} @ {self.taken_at or self.requested_at:%Y-%m-%d %H:%M}"


class SnapshotMember(models.Model):
    """One customer of a frozen snapshot (written with INSERT ... SELECT)."""

    # Only the unique (snapshot, customer) index: a snapshot of 200,000 customers is written in one statement,
    # and every extra index would be written 200,000 times.
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "customer"], name="snapshot_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id}:{self.customer_id}"


class LifecyclePhase(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    NEW = "new", _("New")
    GROWING = "growing", _("Growing")
    MATURE = "mature", _("Mature")
    DECLINING = "declining", _("Declining")
    DORMANT = "dormant", _("Dormant")
    CHURNED = "churned", _("Churned")


class Priority(models.TextChoices):
    A = "A", _("A (highest)")
    B = "B", _("B")
    C = "C", _("C")
    D = "D", _("D (lowest)")


class CustomerValue(models.Model):
    """What Navid computed for one customer on its last run: score, priority, RFM, value, lifecycle, loyalty."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="value", db_constraint=False
    )
    score = models.IntegerField(_("score"), default=0)
    priority = models.CharField(_("priority"), max_length=1, choices=Priority.choices, default=Priority.D)
    rfm_recency = models.PositiveSmallIntegerField(_("RFM recency"), default=0)
    rfm_frequency = models.PositiveSmallIntegerField(_("RFM frequency"), default=0)
    rfm_monetary = models.PositiveSmallIntegerField(_("RFM monetary"), default=0)
    actual_value = models.DecimalField(
        _("actual value (12 months)"), max_digits=18, decimal_places=2, default=0
    )
    potential_value = models.DecimalField(_("potential value"), max_digits=18, decimal_places=2, default=0)
    probability_alive = models.FloatField(_("probability active"), default=0)
    lifecycle = models.CharField(
        _("lifecycle phase"), max_length=10, choices=LifecyclePhase.choices, default=LifecyclePhase.PROSPECT
    )
    loyalty_index = models.FloatField(_("loyalty index"), default=0)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer value")
        verbose_name_plural = _("customer values")
        indexes = [
            models.Index(fields=["priority"]),
            models.Index(fields=["lifecycle"]),
            models.Index(fields=["score"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.priority} {self.lifecycle}"
