from django.core.management.base import BaseCommand, CommandError

from fulian.audit.verify import verify_chain


class Command(BaseCommand):
    help = "审计日志工具:verify 检查哈希链是否完整 (audit log tools; `verify` checks the hash chain)"

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(
                f"审计日志完整:已校验 {result.checked} 条记录({result.lanes} 条哈希链),哈希链无断点。"
            )
            return
        for problem in result.problems:
            self.stderr.write(problem)
        raise CommandError(f"审计日志校验失败:{len(result.problems)} 处问题(共 {result.checked} 条记录)")
