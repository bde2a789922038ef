"""yanxiu quotas freeze [--cycle CODE]
yanxiu quotas targets [--division CODE] [--cycle CODE]
yanxiu quotas progress-verify
yanxiu quotas progress-rebuild

freeze fixes every division's high-end task teacher count for the cycle (the current one by
default) as the province (the operator); divisions already frozen keep theirs. targets prints a
division's task (the province by default) and each child's. progress-verify compares the progress
table (one row per teacher, level and cycle) with the completed enrolments and fails (exit 1) on a
missing or stale row; progress-rebuild drops the stale rows and adds the missing ones (audited).
Each prints one JSON object."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from core.requests import error_text
from org.models import Division
from quotas import progress
from quotas import target_selectors as selectors
from quotas.targets import baseline_freeze


class Command(BaseCommand):
    help = "高端培训任务：freeze 冻结周期教师基数；targets 查看任务与进度；progress-verify/progress-rebuild 核对/重建完成记录"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["freeze", "targets", "progress-verify", "progress-rebuild"])
        parser.add_argument("--cycle", default="", help="周期代码，如 2026-2030（默认当前周期）")
        parser.add_argument("--division", default="", help="targets：区划代码（默认全省）")

    def handle(self, *args, **options):
        province = Division.objects.filter(level="province").first()
        if province is None:
            raise CommandError("没有省级区划")
        scope = Scope.division(province)
        if options["operation"] == "progress-verify":
            report = progress.completions_verify()
            self.stdout.write(json.dumps({"rows": report.rows, "missing": report.missing, "stale": report.stale,
                                          "moved": report.moved, "ok": report.ok}))
            if not report.ok:
                raise CommandError("高端培训完成记录与报名结业数据不一致，可运行 progress-rebuild 重建")
            return
        if options["operation"] == "progress-rebuild":
            summary = progress.completions_rebuild()
            audit_record(action=Action.QUOTA_PROGRESS_REBUILD, scope_path=province.path, object_type="quotas",
                         detail=summary)
            self.stdout.write(json.dumps(summary))
            return
        try:
            if options["operation"] == "freeze":
                summary = baseline_freeze(scope=scope, actor=None, cycle_code=options["cycle"])
            else:
                division = selectors.division_for(scope, options["division"])
                view = selectors.targets_view(scope, division, selectors.cycle_choose(options["cycle"]))
                summary = {"division": division.code, "cycle": view.cycle.code, "tasks": [
                    {"code": r.code, "name": r.name, "level": r.level, "teachers": r.teachers, "frozen": r.frozen,
                     "target": r.target, "completed": r.completed, "projection_pace": r.pace,
                     "projection_planned": r.planned, "at_risk": r.at_risk} for r in view.rows]}
        except ValidationError as error:
            raise CommandError(error_text(error)) from error
        except Http404 as error:  # an unknown division or cycle
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
