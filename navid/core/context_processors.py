"""Values every page needs: the text direction and the navigation for the user's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    items: list[dict[str, str]] = []
    if user.is_authenticated:
        if user.has_perm("customers.view_customer"):
            items.append({"url": reverse("customers:list"), "label": _("Customers"), "key": "customers"})
        if user.has_perm("segments.view_segment"):
            items.append({"url": reverse("segments:list"), "label": _("Segments"), "key": "segments"})
        if user.has_perm("offers.view_offer"):
            items.append({"url": reverse("offers:catalogue"), "label": _("Offers"), "key": "offers"})
        if user.has_perm("campaigns.view_campaign"):
            items.append({"url": reverse("campaigns:list"), "label": _("Campaigns"), "key": "campaigns"})
        if user.has_perm("campaigns.change_contactpolicy"):
            items.append(
                {"url": reverse("campaign_policy:edit"), "label": _("Contact policy"), "key": "policy"}
            )
        if user.has_perm("campaigns.view_event"):
            items.append({"url": reverse("campaign_events:list"), "label": _("Events"), "key": "events"})
        if user.has_perm("sales.view_followup"):
            items.append({"url": reverse("sales:followups"), "label": _("Follow-ups"), "key": "follow-ups"})
        if user.has_perm("sales.view_lead"):
            items.append({"url": reverse("sales:leads"), "label": _("Leads"), "key": "leads"})
        if user.has_perm("sales.view_application"):
            items.append(
                {"url": reverse("sales:applications"), "label": _("Applications"), "key": "applications"}
            )
        if user.has_perm("sales.view_sales_kpis"):
            items.append(
                {"url": reverse("sales:dashboard"), "label": _("Sales funnel"), "key": "sales-dashboard"}
            )
        if user.has_perm("surveys.view_survey"):
            items.append({"url": reverse("surveys:list"), "label": _("Surveys"), "key": "surveys"})
        if user.has_perm("loyalty.view_tier"):
            items.append({"url": reverse("loyalty:overview"), "label": _("Loyalty"), "key": "loyalty"})
        if user.has_perm("telemarketing.work_console"):
            items.append({"url": reverse("telemarketing:console"), "label": _("Console"), "key": "console"})
        if user.has_perm("telemarketing.supervise_calls"):
            items.append(
                {
                    "url": reverse("telemarketing:supervisor"),
                    "label": _("Call supervision"),
                    "key": "supervisor",
                }
            )
        if user.has_perm("telemarketing.view_call_reports"):
            items.append(
                {"url": reverse("telemarketing:reports"), "label": _("Call reports"), "key": "call-reports"}
            )
        if user.has_perm("telemarketing.manage_call_campaigns"):
            items.append(
                {"url": reverse("telemarketing:campaigns"), "label": _("Call setup"), "key": "call-campaigns"}
            )
        if user.has_perm("customers.import_customers"):
            items.append({"url": reverse("customers:import"), "label": _("Import"), "key": "import"})
        if user.has_perm("interactions.ingest_interactions"):
            items.append(
                {"url": reverse("interactions:ingest"), "label": _("Interaction feeds"), "key": "ingest"}
            )
        if user.has_perm("customers.merge_customers"):
            items.append(
                {"url": reverse("customers:duplicates"), "label": _("Duplicates"), "key": "duplicates"}
            )
        if user.has_perm("customers.restore_customer"):
            items.append({"url": reverse("customers:trash"), "label": _("Trash"), "key": "trash"})
        if user.has_perm("accounts.view_auditentry"):
            items.append({"url": reverse("accounts:audit"), "label": _("Audit log"), "key": "audit"})
        if user.is_staff:
            items.append({"url": reverse("admin:index"), "label": _("Lists and settings"), "key": "admin"})
        items.append({"url": "/api/v1/docs", "label": _("API"), "key": "api"})
    return {"nav_items": items, "is_rtl": get_language_bidi()}
