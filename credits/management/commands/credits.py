import datetime as dt
import json
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.checkpoints import CheckpointError, checkpoint_read
from core.commands import command_actor_scope
from core.requests import error_text
from credits.compliance import compliance_refresh_all
from credits.external_import import external_hours_import
from credits.services import credits_reconcile, ledger_closed_cycle_correction, ledger_reseal
from credits.verification import CHECKPOINT_KIND, ledger_checkpoint, ledger_verify
from people.roster.files import RosterFileError
from people.selectors import teacher_get

OPERATIONS = ["reconcile", "verify", "checkpoint", "correct", "reseal", "rollup", "import-external"]


class Command(BaseCommand):
    help = ("学时账本：reconcile 按账本重算并核对汇总（--fix 校正）；verify 校验每条记录、审核链与封签"
            "（--checkpoint FILE 同时核对检查点覆盖的记录）；checkpoint 写出带签名的检查点文件；"
            "correct 更正已关闭周期的学时（省级）；reseal 核查后重新封签一位教师的账本（省级）；rollup 重算各周期的学时达标统计（学校快照）；"
            "import-external FILE 导入外部平台学时。")

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=OPERATIONS)
        parser.add_argument("--fix", action="store_true", help="reconcile：把汇总改为账本重算值")
        parser.add_argument("file", nargs="?", help="import-external：.xlsx 或 .csv 文件")
        parser.add_argument("--as", dest="username", help="import-external / correct：以该账户的管辖范围操作（默认：全省）")
        parser.add_argument("--checkpoint", help="verify：检查点文件")
        parser.add_argument("--out", help="checkpoint：写入的目录（默认 INTEGRITY_CHECKPOINT_DIR）")
        parser.add_argument("--teacher", type=int, help="correct / reseal：教师编号")
        parser.add_argument("--category", help="correct：学时类别（centralised、online、school_based、guidance、other）")
        parser.add_argument("--hours", help="correct：学时（负数为核减）")
        parser.add_argument("--date", help="correct：日期 YYYY-MM-DD（须在已关闭的周期内）")
        parser.add_argument("--reason", help="correct：更正原因；reseal：核查结论")

    def handle(self, *args, **options):
        operation = options["operation"]
        if operation == "import-external":
            self._import_external(options)
        elif operation == "rollup":
            refreshed = compliance_refresh_all()
            self.stdout.write(json.dumps([{"cycle": r.cycle.code, "teachers": r.teachers, "seconds": r.seconds}
                                          for r in refreshed], ensure_ascii=False))
        elif operation == "verify":
            self._verify(options)
        elif operation == "checkpoint":
            path = ledger_checkpoint(options["out"])
            self.stdout.write(str(path))
        elif operation == "correct":
            self._correct(options)
        elif operation == "reseal":
            self._reseal(options)
        else:
            drift = credits_reconcile(fix=options["fix"])
            self.stdout.write(json.dumps({"drift": len(drift), "fixed": options["fix"], "rows": drift[:100]},
                                         ensure_ascii=False, default=str))
            if drift and not options["fix"]:
                raise CommandError(f"发现 {len(drift)} 处汇总与账本不符")

    def _verify(self, options) -> None:
        checkpoint = None
        if options["checkpoint"]:
            try:
                checkpoint = checkpoint_read(options["checkpoint"], kind=CHECKPOINT_KIND)
            except CheckpointError as error:
                raise CommandError(str(error)) from error
        problems = ledger_verify(checkpoint=checkpoint)
        if problems:
            for problem in problems[:200]:
                self.stderr.write(str(problem))
            raise CommandError(f"学时账本发现 {len(problems)} 处问题（与校验值不符、审核链或封签不符、或检查点覆盖的记录缺失）")
        self.stdout.write("学时账本完整。" + (f"检查点（{checkpoint['taken_at']}）覆盖的记录均在且未改动。" if checkpoint else ""))

    def _correct(self, options) -> None:
        missing = [name for name in ("teacher", "category", "hours", "date", "reason") if not options[name]]
        if missing:
            raise CommandError("correct 需要：" + "、".join(f"--{name}" for name in missing))
        try:
            day = dt.date.fromisoformat(options["date"])
        except ValueError as error:
            raise CommandError("日期格式应为 YYYY-MM-DD") from error
        actor, scope = command_actor_scope(options["username"])
        teacher = teacher_get(scope=scope, teacher_id=options["teacher"])
        if teacher is None:
            raise CommandError("教师不存在或不在管辖范围内")
        try:
            entry = ledger_closed_cycle_correction(scope=scope, actor=actor, teacher=teacher, category=options["category"],
                                                   hours=options["hours"], occurred_on=day, reason=options["reason"])
        except ValidationError as error:
            raise CommandError(error_text(error)) from error
        except PermissionDenied as error:
            raise CommandError(str(error) or "无权更正该教师的学时") from error
        self.stdout.write(json.dumps({"entry": entry.pk, "teacher": teacher.pk, "cycle": entry.cycle.code,
                                      "category": entry.category, "hours": str(entry.hours)}, ensure_ascii=False))

    def _reseal(self, options) -> None:
        if not options["teacher"] or not options["reason"]:
            raise CommandError("reseal 需要：--teacher 与 --reason")
        actor, scope = command_actor_scope(options["username"])
        teacher = teacher_get(scope=scope, teacher_id=options["teacher"])
        if teacher is None:
            raise CommandError("教师不存在或不在管辖范围内")
        try:
            seal = ledger_reseal(scope=scope, actor=actor, teacher=teacher, reason=options["reason"])
        except ValidationError as error:
            raise CommandError(error_text(error)) from error
        except PermissionDenied as error:
            raise CommandError(str(error) or "只有省级管理员可以重新封签") from error
        self.stdout.write(json.dumps({"teacher": teacher.pk, "entries": seal.entries, "decisions": seal.decisions},
                                     ensure_ascii=False))

    def _import_external(self, options) -> None:
        if not options["file"] or not Path(options["file"]).is_file():
            raise CommandError(f"文件不存在：{options['file']}")
        actor, scope = command_actor_scope(options["username"])
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
