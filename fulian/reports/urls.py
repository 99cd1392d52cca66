from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("units/<int:unit_id>/", views.dashboard, name="dashboard"),
    path("units/<int:unit_id>/summary/", views.summary_preview, name="summary_preview"),
    path("units/<int:unit_id>/summary.docx", views.summary_docx, name="summary"),
    path("units/<int:unit_id>/table.xlsx", views.table_xlsx, name="table"),
]
