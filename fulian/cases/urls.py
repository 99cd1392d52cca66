from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.intake, name="intake"),
    path("new/autosave/", views.autosave, name="autosave"),
    path("drafts/<int:draft_id>/discard/", views.discard_draft, name="discard_draft"),
    path("lookup/", views.lookup, name="lookup"),
    path("stats/", views.statistics, name="stats"),
    path("export/", views.export_request, name="export"),
    path("export/<str:token>/", views.export_download, name="export_download"),
    path("help/", views.public_help, name="public_help"),
    path("track/", views.public_track, name="public_track"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/reveal/", views.reveal, name="reveal"),
    path("<int:case_id>/do/<slug:verb>/", views.transition, name="do"),
    path("<int:case_id>/documents/", views.upload_document, name="upload_document"),
    path("<int:case_id>/documents/<int:document_id>/", views.document_download, name="document"),
]
