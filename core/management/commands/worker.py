from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from core.ops import processes


class Command(BaseCommand):
    help = "后台任务进程：Celery worker（每次取一个任务、定期换新进程），如 yanxiu worker -Q celery -c 2。"
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("-Q", "--queues", help="逗号分隔的队列，默认 WORKER_QUEUES")
        parser.add_argument("-c", "--concurrency", type=int,
                            default=settings.WORKER_CONCURRENCY or None, help="并发进程数，默认 CPU 核数")
        parser.add_argument("--max-tasks-per-child", type=int, default=settings.WORKER_MAX_TASKS_PER_CHILD)
        parser.add_argument("--max-memory-mb", type=int, default=settings.WORKER_MAX_MEMORY_MB,
                            help="子进程内存超过此值（MB）时，完成当前任务后换新进程")
        parser.add_argument("-l", "--loglevel", default="INFO")
        parser.add_argument("--print", action="store_true", dest="print_only", help="只打印命令，不启动")

    def handle(self, *args, **options):
        queues = [q.strip() for q in (options["queues"] or ",".join(settings.WORKER_QUEUES)).split(",") if q.strip()]
        argv = processes.worker_argv(queues=queues, concurrency=options["concurrency"],
                                     max_tasks_per_child=options["max_tasks_per_child"],
                                     max_memory_mb=options["max_memory_mb"], loglevel=options["loglevel"])
        if options["print_only"]:
            self.stdout.write(" ".join(argv))
            return
        env = processes.metrics_env("worker")
        processes.empty_folder(Path(env["PROMETHEUS_MULTIPROC_DIR"]))
        processes.replace_process(argv, env)
