from django.urls import path

from navid.segments import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_create, name="create"),
    path("new/static/", views.static_segment_create, name="create-static"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/count/", views.segment_count, name="count"),
    path("<int:pk>/why/", views.segment_why, name="why"),
    path("<int:pk>/overlap/", views.segment_overlap, name="overlap"),
    path("<int:pk>/snapshots/", views.segment_snapshots, name="snapshots"),
    path("<int:pk>/archive/", views.segment_archive, name="archive"),
    path("<int:pk>/members/", views.static_members_upload, name="members"),
]
