from django.urls import path

from navid.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list, name="list"),
    path("<int:pk>/", views.survey_detail, name="detail"),
    path("<int:pk>/preview/", views.survey_preview, name="preview"),
    path("<int:pk>/questions/<int:question_pk>/", views.question_edit, name="question-edit"),
    path("<int:pk>/questions/<int:question_pk>/action/", views.question_action, name="question-action"),
    path("<int:pk>/results/", views.survey_results, name="results"),
    path("<int:pk>/results.<str:fmt>", views.survey_export, name="export"),
    path("<int:pk>/answers/", views.text_answers, name="text-answers"),
    path("phone/customer/<int:customer_pk>/", views.phone_start, name="phone-start"),
    path("phone/<int:response_pk>/", views.phone_fill, name="phone-fill"),
]
