from django.apps import AppConfig


class RectifyConfig(AppConfig):
    name = "fulian.rectify"
    verbose_name = "整改"
