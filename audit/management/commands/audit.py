from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify


class Command(BaseCommand):
    help = "审计日志：verify 校验哈希链，发现篡改时以非零状态退出。"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["verify"])

    def handle(self, *args, **options):
        problems = audit_verify()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"审计日志校验失败：{len(problems)} 处问题")
        self.stdout.write("审计日志完整。")
