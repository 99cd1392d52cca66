from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fulian.audit"
    verbose_name = "审计"
