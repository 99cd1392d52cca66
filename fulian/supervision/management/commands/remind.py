import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fulian.supervision.reminders import send_reminders


class Command(BaseCommand):
    help = "督办提醒:截止前3天、前1天和逾期次日,提醒尚未报送的单位(供 cron 每日运行,可重复运行)"

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
        s = send_reminders(today)
        parts = "、".join(f"{k} {v} 条" for k, v in s.by_kind.items()) or "无"
        self.stdout.write(
            f"{today:%Y-%m-%d} 督办提醒:涉及任务 {s.tasks} 个、未报单位 {s.units} 个,新发提醒 {s.sent} 条({parts})。"
        )
