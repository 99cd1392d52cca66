from importlib import import_module
from importlib.util import find_spec

from django.apps import AppConfig, apps


class ReportsConfig(AppConfig):
    name = "fulian.reports"
    verbose_name = "统计报表"

    def ready(self):
        # every installed app may declare its figures in <app>/indicators.py (a later module plugs in here)
        for config in apps.get_app_configs():
            module = f"{config.name}.indicators"
            if find_spec(module) is not None:
                import_module(module)
