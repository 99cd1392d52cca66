from django.urls import path

from . import views

app_name = "rectify"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("export.xlsx", views.ledger_export, name="export"),
    path("new/", views.problem_create, name="problem_create"),
    path("p/<int:problem_id>/", views.problem_detail, name="problem"),
    path("p/<int:problem_id>/measures/new/", views.measure_create, name="measure_create"),
    path("m/<int:measure_id>/", views.measure_detail, name="measure"),
    path("m/<int:measure_id>/edit/", views.measure_edit, name="measure_edit"),
    path("files/<int:evidence_id>/", views.evidence_file, name="file"),
]
