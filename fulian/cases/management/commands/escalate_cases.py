from django.core.management.base import BaseCommand

from fulian.cases.actions import escalate_overdue


class Command(BaseCommand):
    help = "维权案件超期上报:首次联系或办理超期的案件通知上一级维权专干和主席(供 cron 定时运行,可重复运行)"

    def handle(self, *args, **options):
        count = escalate_overdue()
        self.stdout.write(f"超期上报:新上报案件 {count} 件。")
