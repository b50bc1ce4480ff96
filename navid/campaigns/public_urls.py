"""Public pages of campaign messages, at the site root under `r/` (the paths are fixed in tokens.py)."""

from django.urls import path

from navid.campaigns import public_views

app_name = "campaigns_public"
urlpatterns = [
    path("open/<str:token>/", public_views.open_pixel, name="open"),
    path("click/<str:token>/", public_views.click, name="click"),
    path("unsubscribe/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("rsvp/<str:token>/", public_views.rsvp, name="rsvp"),
]
