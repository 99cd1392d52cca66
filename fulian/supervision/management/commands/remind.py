import datetime as dt
import importlib
import importlib.util

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

FIRST = "fulian.supervision"


def reminder_modules() -> list:
    """The ``<app>.reminders`` module of every installed app that has one, supervision first, then in
    INSTALLED_APPS order. A module without a ``remind(today) -> str`` function is skipped."""
    names = [c.name for c in apps.get_app_configs()]
    names.sort(key=lambda name: name != FIRST)  # stable: the rest keep their order
    modules = []
    for name in names:
        if importlib.util.find_spec(f"{name}.reminders") is None:
            continue
        module = importlib.import_module(f"{name}.reminders")
        if callable(getattr(module, "remind", None)):
            modules.append(module)
    return modules


class Command(BaseCommand):
    help = (
        "每日提醒:督办任务(截止前3天、前1天和逾期次日)及其他模块的到期、逾期提醒(供 cron 每日运行,可重复运行)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="按该日期计算(YYYY-MM-DD),默认今天")

    def handle(self, *args, **options):
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError("--today 的格式应为 YYYY-MM-DD") from None
        else:
            today = timezone.localdate()
        for module in reminder_modules():
            self.stdout.write(module.remind(today))
