from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("items/new/", views.item_new, name="item_new"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("items/<int:item_id>/do/<slug:verb>/", views.item_do, name="item_do"),
    path("comments/", views.comments, name="comments"),
    path("comments/<int:comment_id>/do/<slug:verb>/", views.comment_do, name="comment_do"),
    path("commitments/", views.commitments, name="commitments"),
    path("commitments/new/", views.commitment_new, name="commitment_new"),
    path("commitments/<int:commitment_id>/", views.commitment_detail, name="commitment"),
    path("commitments/files/<int:update_id>/", views.update_file, name="update_file"),
    path("profile/<int:unit_id>/", views.profile, name="profile"),
]
