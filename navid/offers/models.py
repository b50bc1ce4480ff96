"""Offers the bank makes: a product on terms, valid for a while, with its value to the bank (R4.1, R7.1)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from navid.core.models import TimeStampedModel
from navid.customers.models import ProductType


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
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
