"""API routes of this app, included under /api/v1/ by fulian/api/urls.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("tasks/", api.TaskListView.as_view(), name="api-tasks"),
    path("tasks/<int:pk>/", api.TaskDetailView.as_view(), name="api-task"),
    path("assignments/", api.AssignmentListView.as_view(), name="api-assignments"),
    path("assignments/<int:pk>/", api.AssignmentDetailView.as_view(), name="api-assignment"),
    path("assignments/<int:pk>/submit/", api.AssignmentSubmitView.as_view(), name="api-assignment-submit"),
    path("assignments/<int:pk>/accept/", api.AssignmentAcceptView.as_view(), name="api-assignment-accept"),
    path("assignments/<int:pk>/return/", api.AssignmentReturnView.as_view(), name="api-assignment-return"),
]
