"""Admin pages where analysts edit the points model, value settings, lifecycle rules and loyalty weights."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from navid.segments.models import (
    CustomerValue,
    LifecycleRule,
    LoyaltySettings,
    ScoringModel,
    ValueRun,
    ValueSettings,
)
from navid.segments.value_services import scoring_model_activate


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "band_a", "band_b", "band_c", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "description", "is_active", "rules", "band_a", "band_b", "band_c")

    def save_model(self, request: HttpRequest, obj: ScoringModel, form: Any, change: bool) -> None:
        # Activating one model deactivates the others in the same transaction (only one may be active).
        if obj.is_active:
            scoring_model_activate(scoring_model=obj)
        else:
            super().save_model(request, obj, form, change)


class SingletonAdmin(admin.ModelAdmin):
    """One row of settings: it can be changed, never added twice or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not self.model._default_manager.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(ValueSettings, SingletonAdmin)
admin.site.register(LifecycleRule, SingletonAdmin)
admin.site.register(LoyaltySettings, SingletonAdmin)


@admin.register(ValueRun)
class ValueRunAdmin(admin.ModelAdmin):
    """The record of each recompute: read only."""

    list_display = ("started_at", "finished_at", "customers", "succeeded")
    list_filter = ("succeeded",)
    readonly_fields = ("started_at", "finished_at", "customers", "succeeded", "params", "report")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CustomerValue)
class CustomerValueAdmin(admin.ModelAdmin):
    """Computed figures: looked at, never edited (the next recompute would overwrite them)."""

    list_display = (
        "customer_id",
        "score",
        "priority",
        "lifecycle",
        "actual_value",
        "potential_value",
        "computed_at",
    )
    list_filter = ("priority", "lifecycle")
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in CustomerValue._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
