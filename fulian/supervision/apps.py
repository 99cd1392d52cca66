from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "fulian.supervision"
    verbose_name = "任务督办"
