from django.urls import path

from navid.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("calendar/", views.campaign_calendar, name="calendar"),
    path("new/", views.campaign_create, name="create"),
    path("preview/<str:channel>/<str:language>/", views.draft_preview, name="draft-preview"),
    path("brands/", views.brand_list, name="brands"),
    path("brands/new/", views.brand_create, name="brand-create"),
    path("brands/<int:pk>/", views.brand_edit, name="brand-edit"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/progress/", views.campaign_progress, name="progress"),
    path("<int:pk>/dry-run/", views.campaign_dry_run, name="dry-run"),
    path("<int:pk>/results.<str:fmt>", views.campaign_export, name="export"),
    path("<int:pk>/preview/<str:channel>/<str:language>/", views.template_preview, name="preview"),
    path("<int:pk>/<str:action>/", views.campaign_action, name="action"),
]
