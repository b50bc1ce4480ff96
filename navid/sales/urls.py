from django.urls import path

from navid.sales import views

app_name = "sales"
urlpatterns = [
    path("follow-ups/", views.followup_list, name="followups"),
    path("follow-ups/<int:pk>/", views.followup_detail, name="followup-detail"),
    path("follow-ups/<int:pk>/progress/", views.followup_progress, name="followup-progress"),
]
