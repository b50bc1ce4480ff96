from django.urls import URLPattern

app_name = "telemarketing"
urlpatterns: list[URLPattern] = []
