from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from navid.loyalty.models import CustomerTier, PointsEntry


@admin.register(PointsEntry)
class PointsEntryAdmin(admin.ModelAdmin):
    """The ledger, read only: entries are written by the loyalty services and never changed."""

    list_display = ("occurred_at", "customer", "kind", "points", "source_ref", "expires_at")
    list_filter = ("kind",)
    search_fields = ("source_ref",)
    raw_id_fields = ("customer",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CustomerTier)
class CustomerTierAdmin(admin.ModelAdmin):
    """Tiers as of the last nightly refresh, read only."""

    list_display = ("customer", "tier", "points_12_months", "computed_at")
    list_filter = ("tier",)
    raw_id_fields = ("customer",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
