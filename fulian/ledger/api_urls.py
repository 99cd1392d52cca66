"""API routes of this app, included under /api/v1/ by fulian/api/urls.py."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("ledger/records/", api.RecordListCreateView.as_view(), name="api-ledger-records"),
    path("ledger/records/<int:pk>/", api.RecordDetailView.as_view(), name="api-ledger-record"),
    path("ledger/rollup/", api.RollupView.as_view(), name="api-ledger-rollup"),
    path("ledger/tags/", api.TagListView.as_view(), name="api-ledger-tags"),
]
