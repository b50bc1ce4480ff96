from django.urls import path

from navid.loyalty import views

app_name = "loyalty"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("rules/new/", views.rule_create, name="rule-create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule-edit"),
    path("tiers/new/", views.tier_create, name="tier-create"),
    path("tiers/<int:pk>/edit/", views.tier_edit, name="tier-edit"),
    path("customers/<int:pk>/", views.statement, name="statement"),
    path("customers/<int:pk>/redeem/", views.redeem, name="redeem"),
]
