from django.urls import path

from navid.interactions import views

app_name = "interactions"
urlpatterns = [
    path("customers/<int:pk>/timeline/", views.timeline, name="timeline"),
    path("customers/<int:pk>/log/", views.interaction_log, name="log"),
    path("ingest/", views.ingest_upload, name="ingest"),
    path("ingest/<int:pk>/", views.ingest_job, name="ingest-job"),
]
