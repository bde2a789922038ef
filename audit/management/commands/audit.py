from django.core.management.base import BaseCommand, CommandError

from audit.services import AuditChainError, audit_checkpoint, audit_checkpoint_read, audit_verify
from core.checkpoints import CheckpointError


class Command(BaseCommand):
    help = (
        "审计日志：verify 校验带密钥的哈希链与链尾（--checkpoint 再对照检查点文件，发现截断或回滚），"
        "发现问题时以非零状态退出；checkpoint 写出一份带密钥的检查点文件，请另行保存到数据库之外。"
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["verify", "checkpoint"])
        parser.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                            help="verify：对照的检查点文件，可重复")
        parser.add_argument("--out", metavar="DIR", help="checkpoint：写入的目录（默认 INTEGRITY_CHECKPOINT_DIR）")

    def handle(self, *args, **options):
        if options["operation"] == "checkpoint":
            self._checkpoint(options["out"])
        else:
            self._verify(options["checkpoint"])

    def _checkpoint(self, directory: str | None) -> None:
        try:
            path = audit_checkpoint(directory)
        except AuditChainError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"已写出检查点：{path}（请复制到数据库之外保存）")

    def _verify(self, paths: list[str]) -> None:
        try:
            checkpoints = [audit_checkpoint_read(path) for path in paths]
        except CheckpointError as error:
            raise CommandError(str(error)) from error
        problems = audit_verify(checkpoints)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"审计日志校验失败：{len(problems)} 处问题")
        suffix = f"（已对照 {len(checkpoints)} 个检查点）" if checkpoints else ""
        self.stdout.write(f"审计日志完整{suffix}。")
