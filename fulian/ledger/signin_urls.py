"""The public sign-in short links /s/<code>: no account, the long random code is the key."""

from django.urls import path

from . import views_media

app_name = "signin"
urlpatterns = [
    path("<str:code>", views_media.signin_public, name="sheet"),
]
