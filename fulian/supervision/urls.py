from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.todo, name="todo"),
    path("new/", views.task_create, name="create"),
    path("<int:task_id>/", views.task_detail, name="task"),
    path("<int:task_id>/rates/", views.task_rates, name="rates"),
    path("<int:task_id>/export.xlsx", views.task_export, name="export"),
    path("a/<int:assignment_id>/", views.assignment_detail, name="assignment"),
    path("a/<int:assignment_id>/review/", views.assignment_review, name="review"),
    path("files/<int:attachment_id>/", views.attachment_file, name="file"),
    path("files/<int:attachment_id>/remove/", views.attachment_remove, name="file_remove"),
]
