"""Segments (R3.1) and each customer's computed ranking, value and lifecycle (R3.2, R3.3, R6.2)."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import Customer
from navid.segments.scoring import scoring_model_errors, value_settings_errors


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


# --- Ranking and value: what analysts configure, and the record of each nightly run -----------------------


class ScoringModel(TimeStampedModel):
    """An analyst's points model: rules that add points to a customer, and the score each priority band starts at.

    `rules` is a list validated by `navid.segments.scoring.scoring_rules_parse`; only one model is active.
    """

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    rules = models.JSONField(_("rules"), default=list, blank=True)
    band_a = models.IntegerField(_("priority A from score"), default=60)
    band_b = models.IntegerField(_("priority B from score"), default=40)
    band_c = models.IntegerField(_("priority C from score"), default=20)

    class Meta:
        verbose_name = _("scoring model")
        verbose_name_plural = _("scoring models")
        ordering = ["-is_active", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="scoring_model_one_active"
            ),
            models.CheckConstraint(
                condition=models.Q(band_a__gte=models.F("band_b"), band_b__gte=models.F("band_c")),
                name="scoring_model_bands_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        # Activating a model deactivates the others (value_services.scoring_model_activate): a second
        # active model is not an error of the form; the database constraint still guards the table.
        super().validate_constraints(exclude={*(exclude or ()), "is_active"})

    def clean(self) -> None:
        errors = scoring_model_errors(
            rules=self.rules, band_a=self.band_a, band_b=self.band_b, band_c=self.band_c
        )
        if errors:
            raise ValidationError(errors)


class SingletonSettings(models.Model):
    """Settings with exactly one row (id 1); the data migration creates it with the defaults."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> Self:
        """The settings row; an unsaved row with the documented defaults if nobody has saved one yet."""
        return cls._default_manager.filter(pk=1).first() or cls(pk=1)


def _default_exchange_rates() -> dict[str, float]:
    return {"IRR": 1.0}


def _default_margin_rates() -> dict[str, float]:
    # Yearly margin on the balance of each product type (by code); see docs/value.md.
    return {
        "current-account": 0.03,
        "savings-deposit": 0.03,
        "term-deposit": 0.02,
        "debit-card": 0.03,
        "loan": 0.05,
        "mortgage": 0.04,
        "credit-card": 0.08,
    }


def _default_fee_income() -> dict[str, dict[str, float]]:
    # A fee transaction is the bank's income; other kinds earn nothing until the bank says otherwise.
    return {"fee": {"per_transaction": 0.0, "share_of_amount": 1.0}}


class ValueSettings(SingletonSettings):
    """How actual and potential value are computed: margins, fees, cost to serve, currencies, horizon."""

    reporting_currency = models.CharField(_("reporting currency"), max_length=3, default="IRR")
    exchange_rates = models.JSONField(
        _("exchange rates to the reporting currency"),
        default=_default_exchange_rates,
        blank=True,
        help_text=_(
            'Units of the reporting currency per unit of each currency, e.g. {"IRR": 1, "RUB": 500}.'
        ),
    )
    margin_rates = models.JSONField(
        _("yearly margin on balances by product type code"),
        default=_default_margin_rates,
        blank=True,
        help_text=_('For example {"term-deposit": 0.02, "loan": 0.05}.'),
    )
    default_margin_rate = models.DecimalField(
        _("yearly margin on balances of other product types"), max_digits=7, decimal_places=5, default=0
    )
    fee_income = models.JSONField(
        _("fee income by transaction type"),
        default=_default_fee_income,
        blank=True,
        help_text=_('For example {"fee": {"per_transaction": 0, "share_of_amount": 1}}.'),
    )
    cost_to_serve_per_year = models.DecimalField(
        _("cost to serve a customer for a year"), max_digits=18, decimal_places=2, default=1_000_000
    )
    cost_per_interaction = models.DecimalField(
        _("cost of one interaction"), max_digits=18, decimal_places=2, default=50_000
    )
    turnover_margin = models.DecimalField(
        _("income on expected transaction turnover"),
        max_digits=7,
        decimal_places=5,
        default=Decimal("0.01"),
        help_text=_(
            "Share of the turnover the purchase model expects that the bank earns (potential value)."
        ),
    )
    horizon_weeks = models.PositiveSmallIntegerField(
        _("potential value horizon (weeks)"),
        default=52,
        validators=[MinValueValidator(1), MaxValueValidator(520)],
    )
    annual_discount_rate = models.DecimalField(
        _("yearly discount rate"),
        max_digits=6,
        decimal_places=4,
        default=Decimal("0.2"),
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )

    class Meta:
        verbose_name = _("value settings")
        verbose_name_plural = _("value settings")

    def __str__(self) -> str:
        return str(_("Value settings"))

    def clean(self) -> None:
        errors = value_settings_errors(
            exchange_rates=self.exchange_rates, margin_rates=self.margin_rates, fee_income=self.fee_income
        )
        if errors:
            raise ValidationError(errors)


class LifecycleRule(SingletonSettings):
    """The thresholds that place each customer in a lifecycle phase; phases are tested in a fixed order."""

    new_days = models.PositiveIntegerField(
        _("new: customer for fewer than (days)"), default=90, validators=[MinValueValidator(1)]
    )
    dormant_days = models.PositiveIntegerField(
        _("dormant: no transaction for (days)"), default=180, validators=[MinValueValidator(1)]
    )
    trend_days = models.PositiveIntegerField(
        _("growing or declining: compare turnover over the last (days)"),
        default=90,
        validators=[MinValueValidator(1)],
    )
    trend_percent = models.DecimalField(
        _("growing or declining: change of at least (%)"),
        max_digits=6,
        decimal_places=2,
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        verbose_name = _("lifecycle rules")
        verbose_name_plural = _("lifecycle rules")

    def __str__(self) -> str:
        return str(_("Lifecycle rules"))


class LoyaltySettings(SingletonSettings):
    """Weights of the loyalty index: length of relationship, requests and complaints (R6.2)."""

    tenure_weight = models.DecimalField(
        _("weight of the length of relationship"),
        max_digits=5,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(0)],
    )
    tenure_full_years = models.DecimalField(
        _("years of relationship that count in full"),
        max_digits=5,
        decimal_places=2,
        default=10,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    requests_weight = models.DecimalField(
        _("weight of requests"),
        max_digits=5,
        decimal_places=3,
        default=Decimal("0.2"),
        validators=[MinValueValidator(0)],
    )
    requests_full = models.PositiveIntegerField(
        _("requests in a year that count in full"), default=12, validators=[MinValueValidator(1)]
    )
    complaints_weight = models.DecimalField(
        _("weight of complaints"),
        max_digits=5,
        decimal_places=3,
        default=Decimal("0.3"),
        validators=[MinValueValidator(0)],
    )
    complaints_full = models.PositiveIntegerField(
        _("complaints in a year that count in full"), default=3, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")

    def __str__(self) -> str:
        return str(_("Loyalty settings"))


class ValueRun(models.Model):
    """One recompute of every customer's value: when, how many, the fitted model parameters, and its report."""

    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    # BG/NBD and Gamma-Gamma parameters and RFM cut points: what a one-customer recompute reuses.
    params = models.JSONField(_("fitted parameters"), default=dict, blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("value run")
        verbose_name_plural = _("value runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} ({self.customers})"
