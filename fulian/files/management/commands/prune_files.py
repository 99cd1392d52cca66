import datetime as dt

from django.core.management.base import BaseCommand

from fulian.files.actions import prune_unreferenced


class Command(BaseCommand):
    help = "删除不再被任何记录引用的上传文件(如已删除台账的照片)。(delete stored files nobody references)"

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=int, default=24)

    def handle(self, *args, **options):
        count = prune_unreferenced(None, dt.timedelta(hours=options["older_than_hours"]))
        self.stdout.write(f"已删除 {count} 个无人引用的文件。")
