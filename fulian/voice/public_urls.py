from django.urls import path

from . import public_views

app_name = "voice_public"
urlpatterns = [
    path("u/<int:unit_id>/suggest/", public_views.suggest, name="suggest"),
    path("receipt/", public_views.receipt, name="receipt"),
    path("survey/<str:token>/", public_views.survey, name="survey"),
]
