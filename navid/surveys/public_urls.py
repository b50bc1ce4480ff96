"""Public survey pages, at the site root under `s/` (the campaign link's path is fixed in campaigns/tokens.py)."""

from django.urls import path

from navid.surveys import public_views

app_name = "surveys_public"
urlpatterns = [
    path("kiosk/<int:survey_id>/", public_views.kiosk, name="kiosk"),
    path("kiosk/<int:survey_id>/r/<str:token>/", public_views.kiosk_response, name="kiosk-response"),
    path("<str:token>/", public_views.survey_by_link, name="link"),
]
