from django.core.management.base import BaseCommand

from core.ops import processes


class Command(BaseCommand):
    help = "定时任务调度：Celery beat（全系统只运行一个），计划文件在 VAR_DIR/celerybeat-schedule。"
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("-l", "--loglevel", default="INFO")
        parser.add_argument("--print", action="store_true", dest="print_only", help="只打印命令，不启动")

    def handle(self, *args, **options):
        argv = processes.beat_argv(loglevel=options["loglevel"])
        if options["print_only"]:
            self.stdout.write(" ".join(argv))
            return
        processes.replace_process(argv, processes.env_without_metrics())
