from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from navid.sales.models import Application, FollowUp, KioskDevice, Lead, ProductRequirement
from navid.sales.services import kiosk_device_create


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("subject", "customer", "source", "assignee", "due_at", "status")
    list_filter = ("status", "source")
    raw_id_fields = ("customer", "assignee", "created_by")


@admin.register(ProductRequirement)
class ProductRequirementAdmin(admin.ModelAdmin):
    """The fields and documents each product's application needs; rows are checked by `requirements_parse`."""

    list_display = ("product_type", "updated_at")


@admin.register(KioskDevice)
class KioskDeviceAdmin(admin.ModelAdmin):
    """Kiosk tablets: adding one shows its key once; switching `active` off locks the tablet out at once."""

    list_display = ("name", "branch", "prefix", "is_active", "last_used_at")
    readonly_fields = ("prefix", "last_used_at")

    def get_fields(self, request: HttpRequest, obj: KioskDevice | None = None) -> list[Any]:
        return (
            ["name", "branch"] if obj is None else ["name", "branch", "is_active", "prefix", "last_used_at"]
        )

    def save_model(self, request: HttpRequest, obj: KioskDevice, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        device, key = kiosk_device_create(actor=request.user, name=obj.name, branch=obj.branch)
        obj.pk, obj.prefix, obj.digest = device.pk, device.prefix, device.digest
        obj._state.adding = False
        messages.warning(
            request,
            _(
                "The key of this kiosk, shown only now: %(key)s — type it on the tablet at /sales/kiosk/setup/."
            )
            % {"key": key},
        )


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("pk", "customer", "product_type", "channel", "status", "submitted_on")
    list_filter = ("status", "channel")
    raw_id_fields = ("customer", "created_by", "offer", "kiosk")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("pk", "customer", "product_type", "source", "stage", "assignee", "due_at")
    list_filter = ("stage", "source")
    raw_id_fields = ("customer", "assignee", "created_by", "application", "campaign", "assigned_by_rule")
