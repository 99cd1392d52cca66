"""API routes of this app, included under /api/v1/ by fulian/api/urls.py."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
