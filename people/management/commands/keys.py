"""yanxiu keys status [--indexes] | generate | rotate-field | reindex  [--column C] [--batch-size N] [--after-id N]"""

import base64
import secrets

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from people.identity import key_id
from people.keys.columns import ENCRYPTED_COLUMNS
from people.keys.selectors import field_key_counts, index_key_counts, key_summary
from people.keys.services import reindex, rotate_field

LABELS = {"": "（空值）", "v1": "v1（旧格式，未标注密钥）", "?": "不属于任何已配置密钥"}


class Command(BaseCommand):
    help = ("个人信息密钥：status 按列统计各密钥下的密文（--indexes 另统计盲索引，需逐行解密）；generate 生成新密钥；"
            "rotate-field 用当前字段密钥重新加密全部加密列；reindex 用当前盲索引密钥重算全部盲索引。"
            "后两者分批提交、可中断后重跑（已完成的行跳过），并记录审计。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="operation", required=True)
        status = sub.add_parser("status", help="各列密文（及盲索引）所用密钥的行数")
        status.add_argument("--indexes", action="store_true", help="同时统计盲索引（逐行解密，较慢）")
        sub.add_parser("generate", help="生成一个新的 32 字节密钥（base64）及其密钥编号")
        for name, text in (("rotate-field", "重新加密"), ("reindex", "重算盲索引")):
            step = sub.add_parser(name, help=text)
            step.add_argument("--column", action="append", choices=[c.label for c in ENCRYPTED_COLUMNS],
                              help="只处理该列（可重复；默认全部）")
            step.add_argument("--batch-size", type=int, default=1000, help="每批行数（每批一个事务）")
            step.add_argument("--after-id", type=int, default=0, help="从该 id 之后继续（中断后按进度行续跑）")

    def handle(self, *args, **options):
        operation = options["operation"]
        try:
            if operation == "generate":
                key = secrets.token_bytes(32)
                self.stdout.write(base64.urlsafe_b64encode(key).decode())
                self.stderr.write(f"密钥编号：{key_id(key)}（密钥本身只输出一次，请直接写入密钥文件）")
            elif operation == "status":
                self._status(options["indexes"])
            else:
                if options["batch_size"] < 1 or options["after_id"] < 0:
                    # A batch of 0 rows would end at once and report a column as done.
                    raise CommandError("--batch-size 至少为 1，--after-id 不能为负数")
                run = rotate_field if operation == "rotate-field" else reindex
                passes = run(columns=options["column"], batch_size=options["batch_size"], after_id=options["after_id"],
                             progress=self.stdout.write)
                for done in passes:
                    self.stdout.write(f"完成 {done.column}：检查 {done.examined} 行，更新 {done.changed} 行。")
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error

    def _status(self, with_indexes: bool) -> None:
        summary = key_summary()
        self.stdout.write(f"字段密钥：当前 {summary['field']['current']}，已退役 {', '.join(summary['field']['retired']) or '无'}")
        self.stdout.write(f"盲索引密钥：当前 {summary['blind_index']['current']}，"
                          f"已退役 {', '.join(summary['blind_index']['retired']) or '无'}")
        self.stdout.write(f"完整性密钥（审计日志、学时账本）：{summary['integrity']}")
        self._table("密文", field_key_counts(), summary["field"])
        if with_indexes:
            self._table("盲索引", index_key_counts(), summary["blind_index"])

    def _table(self, title: str, counts, keys: dict) -> None:
        self.stdout.write(f"\n{title}：列 / 密钥 / 行数")
        used = set()
        for count in counts:
            role = " 当前" if count.key_id == keys["current"] else " 已退役" if count.key_id in keys["retired"] else ""
            if count.key_id and count.key_id != keys["current"]:
                used.add(count.key_id)
            self.stdout.write(f"  {count.column}  {LABELS.get(count.key_id, count.key_id)}{role}  {count.rows}")
        for retired in keys["retired"]:
            if retired in used:
                verdict = "仍有数据使用，不能移除"
            elif "v1" in used:  # a v1 token names no key: it may be under this one
                verdict = "仍有 v1 旧格式密文（可能由该密钥加密），不能移除"
            else:
                verdict = "已无数据使用，可以从配置中移除"
            self.stdout.write(f"已退役密钥 {retired}：{verdict}")
        if used - set(keys["retired"]):
            self.stdout.write(f"尚未轮换完成：{', '.join(sorted(used - set(keys['retired'])))} 下仍有数据，"
                              "请运行 rotate-field / reindex。")
