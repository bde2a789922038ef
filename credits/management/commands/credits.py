import json

from django.core.management.base import BaseCommand, CommandError

from credits.compliance import compliance_refresh_all
from credits.services import credits_reconcile, ledger_verify


class Command(BaseCommand):
    help = ("学时账本：reconcile 按账本重算并核对汇总（--fix 校正）；verify 校验每条记录的防篡改校验值；"
            "rollup 重算各周期的学时达标统计（学校快照）。")

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["reconcile", "verify", "rollup"])
        parser.add_argument("--fix", action="store_true", help="reconcile：把汇总改为账本重算值")

    def handle(self, *args, **options):
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
