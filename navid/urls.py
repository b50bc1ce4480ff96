"""URL map: pages, the API, the admin for the bank's lists, language switching."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from navid.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("navid.customers.urls")),
    path("interactions/", include("navid.interactions.urls")),
    path("segments/", include("navid.segments.urls")),
    path("offers/", include("navid.offers.urls")),
    path("campaigns/events/", include("navid.campaigns.event_urls")),
    path("campaigns/policy/", include("navid.campaigns.policy_urls")),
    path("campaigns/", include("navid.campaigns.urls")),
    path("sales/", include("navid.sales.urls")),
    path("loyalty/", include("navid.loyalty.urls")),
    path("telemarketing/", include("navid.telemarketing.urls")),
    path("surveys/", include("navid.surveys.urls")),
    path("accounts/", include("navid.accounts.urls")),
    path("r/", include("navid.campaigns.public_urls")),
    path("s/", include("navid.surveys.public_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
