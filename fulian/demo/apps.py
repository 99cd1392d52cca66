from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "fulian.demo"
    verbose_name = "演示数据"
