"""Photos and sign-in sheets of ledger records (staff side), under /ledger/."""

from django.urls import path

from . import views_media

app_name = "ledger_media"
urlpatterns = [
    path("records/<int:record_id>/media/", views_media.record_media, name="media"),
    path("records/<int:record_id>/photos/", views_media.photo_upload, name="photo_upload"),
    path("photos/<int:photo_id>/thumb/", views_media.photo_image, {"size": "thumb"}, name="photo_thumb"),
    path("photos/<int:photo_id>/full/", views_media.photo_image, {"size": "full"}, name="photo_full"),
    path("photos/<int:photo_id>/delete/", views_media.photo_delete, name="photo_delete"),
    path("records/<int:record_id>/signin/open/", views_media.signin_open, name="signin_open"),
    path("records/<int:record_id>/signin/close/", views_media.signin_close, name="signin_close"),
    path("records/<int:record_id>/signin/", views_media.attendance_list, name="attendance"),
    path(
        "records/<int:record_id>/signin/export.xlsx", views_media.attendance_export, name="attendance_export"
    ),
    path("records/<int:record_id>/signin/poster/", views_media.signin_poster, name="signin_poster"),
]
