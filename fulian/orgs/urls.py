from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("units/<int:unit_id>/", views.unit_detail, name="unit"),
    path("units/<int:unit_id>/tree/", views.tree, name="tree"),
    path("units/<int:unit_id>/children/", views.tree_children, name="tree_children"),
    path("units/<int:unit_id>/move/", views.unit_move, name="move"),
    path("units/<int:unit_id>/cadres/", views.CadreListView.as_view(), name="cadres"),
    path("units/<int:unit_id>/cadres/new/", views.cadre_create, name="cadre_create"),
    path("units/<int:unit_id>/cadres/export.xlsx", views.cadre_export, name="cadre_export"),
    path("units/<int:unit_id>/cadre-stats/", views.cadre_stats, name="cadre_stats"),
    path("units/<int:unit_id>/cadre-stats/export.xlsx", views.cadre_stats_export, name="cadre_stats_export"),
    path("cadres/<int:cadre_id>/edit/", views.cadre_edit, name="cadre_edit"),
    path("import/", views.import_page, name="import"),
    path("import/template/<str:kind>.xlsx", views.import_template, name="import_template"),
]
