from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import api_token_create


class Command(BaseCommand):
    help = "API 令牌：yanxiu token create USER [--name 用途]，令牌只显示一次。"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("--name", default="命令行创建")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在或已停用：{options['username']}")
        _, secret = api_token_create(user=user, name=options["name"])
        self.stdout.write(secret)
