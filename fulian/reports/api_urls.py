"""API routes of this app, included under /api/v1/ by fulian/api/urls.py."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("stats/", api.StatsView.as_view(), name="api-stats"),
    path("stats/indicators/", api.IndicatorListView.as_view(), name="api-stats-indicators"),
]
