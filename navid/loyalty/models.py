"""Models of loyalty: earn rules, the points ledger, tiers and their offers (R6.2, R6.3).

The ledger (`PointsEntry`) is append-only: a balance is always the sum of a customer's entries and is never
stored. Earning writes positive entries, redemption and expiry negative ones; (kind, source_ref) is unique, so
the same event never earns twice. docs/loyalty.md explains the rules.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import Customer, ProductType, Transaction
from navid.offers.models import Offer


class EarnKind(models.TextChoices):
    """What a customer earns points for."""

    TRANSACTION = "transaction", _("Transaction")
    PRODUCT_OPENED = "product_opened", _("Product opened")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    MANUAL = "manual", _("Manual award")


class EntryKind(models.TextChoices):
    """The kinds of ledger entries: the earning kinds, and the two that take points away."""

    TRANSACTION = "transaction", _("Transaction")
    PRODUCT_OPENED = "product_opened", _("Product opened")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    MANUAL = "manual", _("Manual award")
    REDEMPTION = "redemption", _("Redemption")
    EXPIRY = "expiry", _("Expiry")


EARN_KINDS = tuple(EarnKind.values)
DEBIT_KINDS = (EntryKind.REDEMPTION.value, EntryKind.EXPIRY.value)


class EarnRule(TimeStampedModel):
    """How many points an event earns: per event, or per whole unit of its amount; edited by the bank."""

    kind = models.CharField(_("earned for"), max_length=20, choices=EarnKind.choices)
    points = models.PositiveIntegerField(_("points"), validators=[MinValueValidator(1)])
    amount_unit = models.DecimalField(
        _("per amount of"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the points are per event. Otherwise per each whole amount, e.g. 1,000,000 IRR."),
    )
    product_type = models.ForeignKey(
        ProductType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
        help_text=_("Products opened only: this product (empty: any product without a rule of its own)."),
    )
    transaction_kind = models.CharField(
        _("transaction type"),
        max_length=10,
        choices=Transaction.TxKind.choices,
        blank=True,
        help_text=_("Transactions only: this type (empty: any type without a rule of its own)."),
    )
    validity_months = models.PositiveSmallIntegerField(
        _("valid for (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Points expire this many months after they were earned; empty: they never expire."),
    )
    valid_from = models.DateField(
        _("earns for events from"), default=timezone.localdate, help_text=_("Earlier events earn nothing.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("earn rule")
        verbose_name_plural = _("earn rules")
        ordering = ["kind", "product_type_id", "transaction_kind", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_earnrule_points_positive"),
            models.CheckConstraint(
                condition=Q(amount_unit__isnull=True) | Q(amount_unit__gt=0),
                name="loyalty_earnrule_amount_unit_positive",
            ),
            # One active rule per event kind and filter, so that an event meets at most one specific rule.
            models.UniqueConstraint(
                fields=["kind", "product_type", "transaction_kind"],
                condition=Q(is_active=True, product_type__isnull=False),
                name="loyalty_earnrule_one_active_per_product",
            ),
            models.UniqueConstraint(
                fields=["kind", "transaction_kind"],
                condition=Q(is_active=True, product_type__isnull=True),
                name="loyalty_earnrule_one_active_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.points}"


class PointsEntry(models.Model):
    """One line of a customer's points ledger; never updated or deleted (the balance is the sum of the lines)."""

    follows_customer_merge = True

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="points_entries", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    points = models.BigIntegerField(_("points"))
    source_ref = models.CharField(
        _("source"),
        max_length=120,
        help_text=_("What the entry is for: with the kind, unique in the ledger."),
    )
    occurred_at = models.DateTimeField(_("time"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    rule = models.ForeignKey(
        EarnRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("rule")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-occurred_at", "-id"]
        permissions = [("redeem_points", _("Can redeem a customer's points"))]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="loyalty_entry_customer_time")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_ref"], name="loyalty_entry_one_per_source"),
            models.CheckConstraint(
                condition=(Q(kind__in=EARN_KINDS) & Q(points__gt=0))
                | (Q(kind__in=DEBIT_KINDS) & Q(points__lt=0)),
                name="loyalty_entry_sign_of_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.points:+d}"


class EarnWatermark(models.Model):
    """The last transaction or product holding the set-based earn task has looked at."""

    source = models.CharField(max_length=20, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("earn watermark")
        verbose_name_plural = _("earn watermarks")

    def __str__(self) -> str:
        return f"{self.source}: {self.last_id}"


class Tier(TimeStampedModel):
    """A loyalty tier: reached with the points earned in the last 12 months; has its own offers."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_fa = models.CharField(_("name (Persian)"), max_length=100, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=100, blank=True)
    threshold = models.PositiveIntegerField(
        _("points earned in 12 months"),
        unique=True,
        help_text=_("The least points earned in the last 12 months."),
    )
    offers = models.ManyToManyField(Offer, blank=True, related_name="+", verbose_name=_("offers"))

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["threshold"]

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self, language: str | None = None) -> str:
        """The name in the given (or current) language, falling back to English."""
        lang = (language or get_language() or "en")[:2]
        return str(getattr(self, f"name_{lang}", "") or self.name_en)


class CustomerTier(models.Model):
    """Each customer's tier as of the last nightly refresh, so segments can filter on it cheaply."""

    follows_customer_merge = False  # recomputed every night from the ledger, which does follow

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="+")
    points_12_months = models.BigIntegerField(_("points earned in 12 months"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("customer tier")
        verbose_name_plural = _("customer tiers")
        indexes = [models.Index(fields=["tier"], name="loyalty_customertier_tier")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier_id}"
