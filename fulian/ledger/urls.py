from django.urls import path

from . import views

app_name = "ledger"
urlpatterns = [
    path("", views.home, name="home"),
    path("units/<int:unit_id>/records/", views.RecordListView.as_view(), name="records"),
    path("units/<int:unit_id>/records/new/", views.record_create, name="record_create"),
    path("units/<int:unit_id>/records/export.xlsx", views.record_export, name="record_export"),
    path("units/<int:unit_id>/rollup/", views.rollup, name="rollup"),
    path("units/<int:unit_id>/rollup/export.xlsx", views.rollup_export, name="rollup_export"),
    path("units/<int:unit_id>/exceptions/", views.exceptions, name="exceptions"),
    path("records/<int:record_id>/", views.record_detail, name="record"),
    path("records/<int:record_id>/edit/", views.record_edit, name="record_edit"),
    path("records/<int:record_id>/delete/", views.record_delete, name="record_delete"),
    path("tags/", views.tags, name="tags"),
    path("import/", views.import_page, name="import"),
    path("import/template/<str:kind>.xlsx", views.import_template, name="import_template"),
]
