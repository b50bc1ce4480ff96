"""The contact policy page; the project's URL map includes it under /campaigns/policy/."""

from django.urls import path

from navid.campaigns import policy_views

app_name = "campaign_policy"
urlpatterns = [path("", policy_views.policy_edit, name="edit")]
