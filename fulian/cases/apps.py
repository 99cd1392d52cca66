from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "fulian.cases"
    verbose_name = "维权"
