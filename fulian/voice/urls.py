from django.urls import path

from . import views

app_name = "voice"
urlpatterns = [
    path("", views.home, name="home"),
    path("s/<int:suggestion_id>/", views.suggestion_detail, name="suggestion"),
    path("s/<int:suggestion_id>/do/<slug:verb>/", views.suggestion_do, name="suggestion_do"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/new/", views.survey_create, name="survey_new"),
    path("surveys/<int:survey_id>/", views.survey_detail, name="survey"),
    path("surveys/<int:survey_id>/edit/", views.survey_edit, name="survey_edit"),
    path("surveys/<int:survey_id>/do/<slug:verb>/", views.survey_do, name="survey_do"),
    path("surveys/<int:survey_id>/results/", views.survey_results, name="results"),
    path("surveys/<int:survey_id>/export/", views.survey_export, name="export"),
    path("questions/<int:question_id>/", views.question_edit, name="question"),
    path("questions/<int:question_id>/do/<slug:verb>/", views.question_do, name="question_do"),
]
