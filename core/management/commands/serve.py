from django.core.management.base import BaseCommand

from core.ops import processes


class Command(BaseCommand):
    help = ("生产环境的 Web 服务：gunicorn（config/gunicorn.py），如 yanxiu serve --bind 127.0.0.1:8000 "
            "--workers 5。其余参数见 GUNICORN_* 环境变量。")
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--bind", action="append", default=[],
                            help="监听地址（可重复），默认 GUNICORN_BIND 或 127.0.0.1:8000")
        parser.add_argument("--workers", type=int, help="进程数，默认 2×CPU核数+1，至多 GUNICORN_MAX_WORKERS")
        parser.add_argument("--print", action="store_true", dest="print_only", help="只打印命令，不启动")

    def handle(self, *args, **options):
        argv = processes.gunicorn_argv(bind=options["bind"], workers=options["workers"])
        if options["print_only"]:
            self.stdout.write(" ".join(argv))
            return
        processes.replace_process(argv, processes.metrics_env("web"))
