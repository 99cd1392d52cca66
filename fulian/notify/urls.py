from django.urls import path

from . import views

app_name = "notify"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:notice_id>/open/", views.open_notice, name="open"),
    path("read-all/", views.read_all, name="read_all"),
]
