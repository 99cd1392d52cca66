from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "fulian.ledger"
    verbose_name = "工作台账"

    def ready(self) -> None:
        # moving a unit moves its subtree's figures between the ancestors' LedgerBranchMonth rows, in the
        # move's own transaction (fulian/orgs/hooks.py: orgs may not import the ledger); the lock first
        from fulian.orgs.hooks import on_unit_moved, on_unit_moving

        from .totals import moved, moving

        on_unit_moving(moving)
        on_unit_moved(moved)
