from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "fulian.portal"
    verbose_name = "公开"
