from django.contrib import admin
from django.db import models

from navid.offers.models import Offer


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("name", "product_type", "valid_from", "valid_until", "value_to_bank", "is_active")
    list_filter = ("is_active", "product_type")
    search_fields = ("name",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
