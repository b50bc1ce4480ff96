"""Staff pages of event campaigns (the integrator mounts them, e.g. under `campaigns/events/`)."""

from django.urls import path

from navid.campaigns import event_views

app_name = "campaign_events"
urlpatterns = [
    path("", event_views.event_list, name="list"),
    path("new/<int:campaign_id>/", event_views.event_create, name="create"),
    path("<int:pk>/", event_views.event_detail, name="detail"),
    path("<int:pk>/edit/", event_views.event_edit, name="edit"),
    path("<int:pk>/check-in/", event_views.guest_check_in, name="check-in"),
    path("<int:pk>/no-shows/", event_views.event_no_shows, name="no-shows"),
    path("<int:pk>/guests/", event_views.event_guests_sync, name="sync"),
    path("<int:pk>/badge/<int:invitation_id>/", event_views.guest_badge, name="badge"),
]
