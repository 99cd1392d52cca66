from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "fulian.notify"
    verbose_name = "站内通知"
