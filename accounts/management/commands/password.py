from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import user_password_reset_by_operator


class Command(BaseCommand):
    help = "重置密码：yanxiu password reset USER，打印一次临时密码；用户下次登录须先修改密码（审计）。"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["reset"])
        parser.add_argument("username")

    def handle(self, *args, **options):
        try:
            _, password = user_password_reset_by_operator(username=options["username"])
        except User.DoesNotExist as error:
            raise CommandError(f"用户不存在或已停用：{options['username']}") from error
        self.stdout.write(password)
