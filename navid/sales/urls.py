from django.urls import path

from navid.sales import kiosk_views, views

app_name = "sales"
urlpatterns = [
    path("follow-ups/", views.followup_list, name="followups"),
    path("follow-ups/<int:pk>/", views.followup_detail, name="followup-detail"),
    path("follow-ups/<int:pk>/progress/", views.followup_progress, name="followup-progress"),
    path("leads/", views.lead_board, name="leads"),
    path("leads/new/", views.lead_new, name="lead-new"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/move/", views.lead_move, name="lead-move"),
    path("leads/<int:pk>/reassign/", views.lead_reassign, name="lead-reassign"),
    path("applications/", views.application_list, name="applications"),
    path("applications/new/", views.application_new, name="application-new"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path("applications/<int:pk>/act/", views.application_act, name="application-act"),
    path("applications/<int:pk>/documents/", views.application_documents, name="application-documents"),
    path(
        "applications/<int:pk>/documents/<int:document_pk>/",
        views.application_document,
        name="application-document",
    ),
    path("distribution/", views.distribution_rules, name="distribution"),
    path("distribution/<int:pk>/", views.distribution_rules, name="distribution-edit"),
    path("distribution/<int:pk>/delete/", views.distribution_rule_delete, name="distribution-delete"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("kiosk/", kiosk_views.kiosk_start, name="kiosk"),
    path("kiosk/setup/", kiosk_views.kiosk_setup, name="kiosk-setup"),
    path("kiosk/apply/", kiosk_views.kiosk_apply, name="kiosk-apply"),
    path("kiosk/done/", kiosk_views.kiosk_done, name="kiosk-done"),
]
