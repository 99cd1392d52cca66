from django.urls import path

from . import public_views

app_name = "portal_public"
urlpatterns = [
    path("", public_views.index, name="index"),
    path("u/<int:unit_id>/", public_views.unit, name="unit"),
    path("u/<int:unit_id>/board/", public_views.board, name="board"),
    path("d/<int:item_id>/", public_views.item, name="item"),
]
