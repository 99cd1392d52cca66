from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "fulian.ledger"
    verbose_name = "工作台账"
