"""`fulian ledger_rebuild_totals [--unit CODE] [--check]`: recompute the monthly ledger totals from the records.

The actions keep ``LedgerMonthTotal`` equal to the records in the same transaction as every write; this is for
records written around them (a bulk load, a restore, a new indicator column) and for the proof. Without
``--unit`` every tree in the database is recomputed. ``--check`` only compares and exits with status 1 when
the table and the records disagree.
"""

from django.core.management.base import BaseCommand, CommandError

from fulian.ledger import totals
from fulian.ledger.actions import rebuild_month_totals
from fulian.orgs.models import OrgUnit

SHOWN = 20  # differences listed by --check (all are counted)


class Command(BaseCommand):
    help = "按台账记录重算各单位的月度合计(可重复运行);--check 只比对,不一致时退出码为 1"

    def add_arguments(self, parser):
        parser.add_argument("--unit", help="只处理该单位(代码)及其下级,默认全部")
        parser.add_argument("--check", action="store_true", help="只比对月度合计与台账记录,不写入")

    def handle(self, *args, **options):
        if options["unit"]:
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"没有代码为“{options['unit']}”的单位。")
            units = [unit]
        else:
            units = list(OrgUnit.objects.filter(parent=None).order_by("path"))
        if options["check"]:
            self._check(units)
            return
        for unit in units:
            figures = rebuild_month_totals(None, unit)
            self.stdout.write(
                f"{unit.name}:已按台账记录重算月度合计 {figures['rows']} 行"
                f"({figures['branches']} 个分支,用时 {figures['seconds']} 秒)。"
            )

    def _check(self, units: list[OrgUnit]) -> None:
        found = 0
        for unit in units:
            diffs = totals.differences(unit)
            found += len(diffs)
            for d in diffs[:SHOWN]:
                self.stdout.write(
                    f"{d.unit_name}({d.unit}) {d.month:%Y-%m} {d.key}:月度合计 {d.table},台账记录 {d.records}"
                )
            if len(diffs) > SHOWN:
                self.stdout.write(f"……另有 {len(diffs) - SHOWN} 处不一致未列出。")
        if found:
            raise CommandError(
                f"月度合计与台账记录有 {found} 处不一致,请运行 fulian ledger_rebuild_totals 重算。",
                returncode=1,
            )
        self.stdout.write("月度合计与台账记录一致。")
