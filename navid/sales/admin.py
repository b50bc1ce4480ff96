from django.contrib import admin

from navid.sales.models import FollowUp


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("subject", "customer", "source", "assignee", "due_at", "status")
    list_filter = ("status", "source")
    raw_id_fields = ("customer", "assignee", "created_by")
