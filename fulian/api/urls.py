from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from . import views

urlpatterns = [
    path("", include("fulian.cases.api_urls")),  # first: the intakes pushed by a switchboard
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("me", views.MeView.as_view(), name="api-me"),
    path("units/", views.UnitListView.as_view(), name="api-units"),
    path("units/<int:pk>/", views.UnitDetailView.as_view(), name="api-unit"),
    path("units/<int:pk>/children/", views.UnitChildrenView.as_view(), name="api-unit-children"),
    path("cadres/", views.CadreListCreateView.as_view(), name="api-cadres"),
    path("cadres/<int:pk>/", views.CadreDetailView.as_view(), name="api-cadre"),
    path("", include("fulian.ledger.api_urls")),
    path("", include("fulian.supervision.api_urls")),
    path("", include("fulian.reports.api_urls")),
]
