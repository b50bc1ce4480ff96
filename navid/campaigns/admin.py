"""Admin of campaigns: brand layouts are edited here or on the brand page; campaigns are read only here, because
their changes must go through the workflow's actions (permission, maker-checker, audit log)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from navid.campaigns.models import Brand, Campaign


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "sender_name", "email_from", "sms_sender")
    search_fields = ("name",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "goal", "state", "owner", "starts_at", "ends_at")
    list_filter = ("state", "goal")
    search_fields = ("name",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
