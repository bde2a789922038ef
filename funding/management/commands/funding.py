"""yanxiu funding import --kind KIND FILE --as USERNAME
yanxiu funding compliance --year Y [--division CODE]

import runs the same import as the page and the API (kinds: division, school, spend; the whole file
checked first, all or nothing, once per file) in the jurisdiction of the account named by --as, and
prints its row-level report as JSON; it exits with status 1 when rows were refused or the file was
already imported. compliance prints the year's gaps list as JSON (the divisions below their ratio
and the schools below 5 %, largest shortfall first), for the province or --division CODE, read as the
province (the operator)."""

import json
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.commands import command_actor_scope
from funding.imports import COLUMNS, REJECTIONS_SHOWN, funding_import
from funding.selectors import gaps_report
from org.models import Division
from people.roster.files import RosterFileError


class Command(BaseCommand):
    help = "培训经费：import 导入（输出 JSON 报告）；compliance 输出某年度的缺口清单（JSON）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="operation", required=True)
        importing = sub.add_parser("import", help="导入 .xlsx 或 .csv（division、school、spend）")
        importing.add_argument("--kind", required=True, choices=sorted(COLUMNS), help="数据类型")
        importing.add_argument("file")
        importing.add_argument(
            "--as", dest="username", required=True, help="以该管理员账户的管辖范围导入"
        )
        compliance = sub.add_parser("compliance", help="某年度的培训经费缺口清单（JSON）")
        compliance.add_argument("--year", type=int, required=True, help="年度")
        compliance.add_argument("--division", default="", help="区划代码（默认：全省）")

    def handle(self, *args, **options):
        if options["operation"] == "import":
            self._import(options)
        else:
            self._compliance(options)

    def _import(self, options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        actor, scope = command_actor_scope(options["username"])
        try:
            with path.open("rb") as handle:
                result = funding_import(
                    scope=scope,
                    actor=actor,
                    kind=options["kind"],
                    handle=handle,
                    name=path.name,
                    today=timezone.localdate(),
                )
        except RosterFileError as error:
            raise CommandError(str(error)) from error
        except PermissionDenied as error:
            raise CommandError(str(error) or "无权导入该类数据") from error
        self.stdout.write(
            json.dumps(
                {
                    "kind": result.kind,
                    "written": result.written,
                    "already": result.already,
                    "rows": result.rows,
                    "created": result.created,
                    "corrected": result.corrected,
                    "rejections": result.rejections[:REJECTIONS_SHOWN],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        if not result.written:
            sys.exit(1)

    def _compliance(self, options) -> None:
        _, scope = command_actor_scope(None)
        code = options["division"] or Division.objects.get(level="province").code
        division = Division.objects.filter(code=code).first()
        if division is None:
            raise CommandError(f"区划代码不存在：{code}")
        if not 2000 <= options["year"] <= 2100:
            raise CommandError("年度应在 2000—2100 之间")
        self.stdout.write(
            json.dumps(
                gaps_report(scope=scope, division=division, year=options["year"]),
                ensure_ascii=False,
                indent=2,
            )
        )
