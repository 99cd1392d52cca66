from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "fulian.portal"
    verbose_name = "公开"

    def ready(self) -> None:
        # an accepted rectification measure marked for disclosure becomes a 整改情况 draft (same transaction)
        from fulian.rectify.hooks import on_measure_accepted

        from .hooks import measure_accepted

        on_measure_accepted(measure_accepted)
