"""API routes of this app, included under /api/v1/ by fulian/api/urls.py."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("cases/", api.CaseListCreateView.as_view(), name="api-cases"),
    path("cases/<int:pk>/", api.CaseDetailView.as_view(), name="api-case"),
    path("cases/<int:pk>/transitions/", api.CaseTransitionView.as_view(), name="api-case-transitions"),
    path("cases/<int:pk>/reveal/", api.CaseRevealView.as_view(), name="api-case-reveal"),
]
