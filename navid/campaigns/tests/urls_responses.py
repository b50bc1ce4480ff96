"""The site's pages plus the public message pages and the event pages, mounted as the integrator will mount them."""

from django.urls import include, path

from navid.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path("r/", include("navid.campaigns.public_urls")),
    path("campaigns/events/", include("navid.campaigns.event_urls")),
]
