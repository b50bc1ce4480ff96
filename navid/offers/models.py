"""Offers the bank makes: a product on terms, valid for a while, with its value to the bank (R4.1, R7.1)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import ProductType
from navid.segments.models import Segment


class Offer(TimeStampedModel):
    """A product offered on stated terms; campaigns carry one, next best offer ranks them."""

    name = models.CharField(_("name"), max_length=200)
    product_type = models.ForeignKey(
        ProductType, on_delete=models.PROTECT, related_name="offers", verbose_name=_("product")
    )
    description = models.TextField(_("description"), blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    value_to_bank = models.DecimalField(
        _("value to the bank"),
        max_digits=18,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Expected margin from one customer who takes the offer."),
    )
    landing_url = models.URLField(
        _("landing page"),
        blank=True,
        help_text=_("The web page that presents the offer; campaign messages link to it as {offer_url}."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductRule(TimeStampedModel):
    """Who may be offered a product: the eligibility rules of one product type, a validated JSON document.

    The grammar is `navid.offers.eligibility.EligibilityRules`; evaluated in SQL for many customers and in
    Python for one, with the same result.
    """

    product_type = models.OneToOneField(
        ProductType, on_delete=models.CASCADE, related_name="offer_rule", verbose_name=_("product")
    )
    rules = models.JSONField(_("eligibility rules"), default=dict, blank=True)

    class Meta:
        verbose_name = _("eligibility rule")
        verbose_name_plural = _("eligibility rules")

    def __str__(self) -> str:
        return str(self.product_type)


class ProductSegmentTarget(TimeStampedModel):
    """One cell of the product-segment matrix: the bank wants to sell this product to this segment."""

    class Priority(models.IntegerChoices):
        HIGH = 1, _("High")
        MEDIUM = 2, _("Medium")
        LOW = 3, _("Low")

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="product_targets", verbose_name=_("segment")
    )
    product_type = models.ForeignKey(
        ProductType, on_delete=models.CASCADE, related_name="segment_targets", verbose_name=_("product")
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)

    class Meta:
        verbose_name = _("product-segment target")
        verbose_name_plural = _("product-segment matrix")
        constraints = [
            models.UniqueConstraint(fields=["segment", "product_type"], name="offers_target_one_per_cell")
        ]
        permissions = [("edit_product_segment_matrix", _("Can edit the product-segment matrix"))]

    def __str__(self) -> str:
        return f"{self.segment} → {self.product_type}"


class CrossProductStat(models.Model):
    """Customers who hold product A also hold product B: support, confidence and lift of A → B."""

    antecedent = models.ForeignKey(
        ProductType, on_delete=models.CASCADE, related_name="+", verbose_name=_("holds")
    )
    consequent = models.ForeignKey(
        ProductType, on_delete=models.CASCADE, related_name="+", verbose_name=_("also holds")
    )
    customers = models.PositiveIntegerField(_("customers with products"))
    antecedent_count = models.PositiveIntegerField(_("customers holding A"))
    consequent_count = models.PositiveIntegerField(_("customers holding B"))
    pair_count = models.PositiveIntegerField(_("customers holding both"))
    support = models.FloatField(_("support"))
    confidence = models.FloatField(_("confidence"))
    lift = models.FloatField(_("lift"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("cross-product statistic")
        verbose_name_plural = _("cross-product matrix")
        constraints = [
            models.UniqueConstraint(
                fields=["antecedent", "consequent"], name="offers_crossproduct_one_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.antecedent} → {self.consequent}: {self.lift:.2f}"


class PropensityModel(models.Model):
    """One trained propensity model of one product: where its file is, how good it is, when it was trained."""

    class State(models.TextChoices):
        READY = "ready", _("Ready")
        TOO_LITTLE_DATA = "too_little_data", _("Too little data")

    product_type = models.ForeignKey(
        ProductType, on_delete=models.CASCADE, related_name="propensity_models", verbose_name=_("product")
    )
    trained_at = models.DateTimeField(_("trained at"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices)
    message = models.CharField(_("message"), max_length=300, blank=True)
    cut_date = models.DateField(_("cut date"), help_text=_("Features before this day, openings after it."))
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    file_path = models.CharField(_("file"), max_length=500, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    feature_names = models.JSONField(_("features"), default=list)
    train_rows = models.PositiveIntegerField(_("training rows"), default=0)
    train_positives = models.PositiveIntegerField(_("training openings"), default=0)
    test_rows = models.PositiveIntegerField(_("test rows"), default=0)
    test_positives = models.PositiveIntegerField(_("test openings"), default=0)
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    lift_by_decile = models.JSONField(_("lift by decile"), default=list)
    base_rate = models.FloatField(_("base rate"), default=0.0)
    is_current = models.BooleanField(_("current"), default=False)

    class Meta:
        verbose_name = _("propensity model")
        verbose_name_plural = _("propensity models")
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["product_type"], condition=models.Q(is_current=True), name="offers_one_current_model"
            )
        ]
        permissions = [
            (
                "train_propensity_models",
                _("Can retrain propensity models and recompute the cross-product matrix"),
            ),
            ("view_next_best_offers", _("Can see next best offers")),
        ]

    def __str__(self) -> str:
        return f"{self.product_type} {self.trained_at:%Y-%m-%d}"
