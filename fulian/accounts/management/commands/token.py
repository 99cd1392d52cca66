from django.core.management.base import BaseCommand, CommandError

from fulian.accounts.actions import create_token
from fulian.accounts.models import User


class Command(BaseCommand):
    help = "API 令牌:create USERNAME 创建一个令牌并打印(只显示一次)"

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"用户不存在:{options['username']}")
        self.stdout.write(create_token(None, user, name=options["name"]))
