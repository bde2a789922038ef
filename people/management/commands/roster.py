"""yanxiu roster import FILE [--as USER] | export --division CODE FILE [--masked]"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from access.scope import Scope
from core.commands import command_actor_scope
from org.models import Division
from people.roster.exporter import roster_export
from people.roster.files import RosterFileError
from people.roster.importer import roster_import


class Command(BaseCommand):
    help = "教师名册：import 导入（输出 JSON 报告，有被拒绝的行时以状态 1 退出）；export 导出（完整身份证号，记录审计）。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="operation", required=True)
        importing = sub.add_parser("import", help="导入 .xlsx 或 .csv")
        importing.add_argument("file")
        importing.add_argument("--as", dest="username", help="以该账户的管辖范围导入（默认：运维人员，全省）")
        exporting = sub.add_parser("export", help="导出 .xlsx 或 .csv（按扩展名）")
        exporting.add_argument("--division", required=True, help="区划代码")
        exporting.add_argument("file")
        exporting.add_argument("--masked", action="store_true", help="身份证号脱敏")

    def handle(self, *args, **options):
        if options["operation"] == "import":
            self._import(options)
        else:
            self._export(options)

    def _import(self, options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        actor, scope = command_actor_scope(options["username"])
        try:
            with path.open("rb") as handle:
                report = roster_import(scope=scope, actor=actor, handle=handle, name=path.name)
        except RosterFileError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        if report.rejected:
            sys.exit(1)

    def _export(self, options) -> None:
        path = Path(options["file"])
        kind = path.suffix.lower().lstrip(".")
        if kind not in {"csv", "xlsx"}:
            raise CommandError("文件扩展名应为 .csv 或 .xlsx")
        division = Division.objects.filter(code=options["division"]).first()
        if division is None:
            raise CommandError(f"区划代码不存在：{options['division']}")
        scope = Scope.division(division)
        if kind == "csv":
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                count = roster_export(scope=scope, actor=None, destination=handle, kind=kind,
                                      full_ids=not options["masked"], channel="cli")
        else:
            count = roster_export(scope=scope, actor=None, destination=str(path), kind=kind,
                                  full_ids=not options["masked"], channel="cli")
        self.stdout.write(f"已导出 {count} 人到 {path}")
