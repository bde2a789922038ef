import json
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from access.scope import Scope, scope_for_user
from accounts.models import User
from credits.compliance import compliance_refresh_all
from credits.external_import import external_hours_import
from credits.services import credits_reconcile, ledger_verify
from org.models import Division
from people.roster.files import RosterFileError


class Command(BaseCommand):
    help = ("学时账本：reconcile 按账本重算并核对汇总（--fix 校正）；verify 校验每条记录的防篡改校验值；"
            "rollup 重算各周期的学时达标统计（学校快照）；import-external FILE 导入外部平台学时。")

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["reconcile", "verify", "rollup", "import-external"])
        parser.add_argument("--fix", action="store_true", help="reconcile：把汇总改为账本重算值")
        parser.add_argument("file", nargs="?", help="import-external：.xlsx 或 .csv 文件")
        parser.add_argument("--as", dest="username", help="import-external：以该账户的管辖范围导入（默认：全省）")

    def handle(self, *args, **options):
        if options["operation"] == "import-external":
            self._import_external(options)
            return
        if options["operation"] == "rollup":
            refreshed = compliance_refresh_all()
            self.stdout.write(json.dumps([{"cycle": r.cycle.code, "teachers": r.teachers, "seconds": r.seconds}
                                          for r in refreshed], ensure_ascii=False))
            return
        if options["operation"] == "verify":
            bad = ledger_verify()
            if bad:
                raise CommandError(f"{len(bad)} 条学时记录与校验值不符：{bad[:50]}")
            self.stdout.write("学时账本完整。")
            return
        drift = credits_reconcile(fix=options["fix"])
        self.stdout.write(json.dumps({"drift": len(drift), "fixed": options["fix"], "rows": drift[:100]},
                                     ensure_ascii=False, default=str))
        if drift and not options["fix"]:
            raise CommandError(f"发现 {len(drift)} 处汇总与账本不符")

    def _import_external(self, options) -> None:
        if not options["file"] or not Path(options["file"]).is_file():
            raise CommandError(f"文件不存在：{options['file']}")
        actor = None
        scope = Scope.division(Division.objects.get(level="province"))
        if options["username"]:
            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(f"用户不存在或已停用：{options['username']}")
            scope = scope_for_user(actor)
        path = Path(options["file"])
        try:
            with path.open("rb") as handle:
                result = external_hours_import(scope=scope, actor=actor, handle=handle, name=path.name)
        except (RosterFileError, PermissionDenied) as error:
            raise CommandError(str(error)) from error
        batch = result.batch
        self.stdout.write(json.dumps({
            "import": batch.pk, "rows": batch.rows, "created": batch.created, "duplicates": batch.duplicates,
            "rejected": batch.rejected, "unmapped_organisers": batch.unmapped_organisers, "rejections": result.rejections[:100],
        }, ensure_ascii=False, indent=2))
        if batch.rejected:
            sys.exit(1)
