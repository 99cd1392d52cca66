from django.core.management.base import BaseCommand, CommandError

from fulian.cases.actions import archive_finished


class Command(BaseCommand):
    help = "维权案件归档:办结(或不予受理)满一定天数的案件自动归档(默认180天,可用 CASES_ARCHIVE_AFTER_DAYS 配置);从不删除"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="办结满多少天归档")

    def handle(self, *args, **options):
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days 必须是正整数")
        count = archive_finished(days=days)
        self.stdout.write(f"归档案件 {count} 件。")
