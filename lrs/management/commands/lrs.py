"""yanxiu lrs client create NAME [--prefix IRI ...] [--division CODE] [--read-only] [--reads-all] [--rate N]
yanxiu lrs client list [--division CODE]
yanxiu lrs client revoke KEY

The key and the secret are printed on lines of their own (`key: …`, `secret: …`); the secret
is shown this once. Commands act as the province (the operator) unless --as names an account."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from access.policy import visible
from core.commands import command_actor_scope
from core.requests import error_text
from lrs.clients import client_create, client_revoke
from lrs.models import LrsClient
from org.models import Division


class Command(BaseCommand):
    help = "学习记录接入方：client create NAME | client list | client revoke KEY"

    def add_arguments(self, parser):
        parser.add_argument("noun", choices=["client"])
        parser.add_argument("operation", choices=["create", "list", "revoke"])
        parser.add_argument("name", nargs="?", help="create：名称；revoke：接入方账号（key）")
        parser.add_argument("--prefix", action="append", default=[], help="可写入的活动 IRI 前缀（可重复；* 表示不限）")
        parser.add_argument("--division", default="", help="所属区划代码（默认：全省）")
        parser.add_argument("--read-only", action="store_true", help="只读")
        parser.add_argument("--reads-all", action="store_true", help="可读取全部语句（报表工具）")
        parser.add_argument("--rate", type=int, default=600, help="每分钟请求上限")
        parser.add_argument("--as", dest="username", help="以该管理员账户的管辖范围操作")

    def handle(self, *args, **options):
        actor, scope = command_actor_scope(options["username"])
        try:
            if options["operation"] == "create":
                self._create(options, actor, scope)
            elif options["operation"] == "list":
                for client in visible(scope, LrsClient).select_related("division"):
                    state = "已停用" if client.revoked_at else ("只读" if not client.may_write else "可写")
                    self.stdout.write(f"{client.key}\t{client.name}\t{client.division.name}\t{state}\t"
                                      f"{' '.join(client.activity_prefixes)}")
            else:
                if not options["name"]:
                    raise CommandError("revoke 需要接入方账号（key）")
                client = visible(scope, LrsClient).filter(key=options["name"]).first()
                if client is None:
                    raise CommandError(f"接入方不存在或不在管辖范围内：{options['name']}")
                client_revoke(scope=scope, actor=actor, client_id=client.pk)
                self.stdout.write(f"已停用：{client.key}")
        except ValidationError as error:
            raise CommandError(error_text(error)) from error
        except PermissionDenied as error:
            raise CommandError(str(error) or "无权操作") from error

    def _create(self, options, actor, scope):
        if not options["name"]:
            raise CommandError("create 需要名称")
        code = options["division"] or Division.objects.get(level="province").code
        division = Division.objects.filter(code=code).first()
        if division is None:
            raise CommandError(f"区划不存在：{code}")
        client, secret = client_create(scope=scope, actor=actor, name=options["name"], division=division,
                                       activity_prefixes=options["prefix"] or ["*"], may_write=not options["read_only"],
                                       reads_all=options["reads_all"], rate_per_minute=options["rate"])
        self.stdout.write(f"key: {client.key}")
        self.stdout.write(f"secret: {secret}")
