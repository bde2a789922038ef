"""yanxiu recommend evaluate --interactions FILE.csv [--k 10] [--seed N]

Prints one JSON object: the platform's ranking (ndcg@k, recall@k, coverage, sizes, timings)
and, under `popularity` and `als`, the two baselines on the same protocol."""

import json

from django.core.management.base import BaseCommand, CommandError

from learning.recommend.evaluation import evaluate_log
from learning.recommend.interactions import InteractionFileError, read_interactions


class Command(BaseCommand):
    help = "课程推荐：evaluate 在一份学习记录（user,item,timestamp[,weight]）上离线评估平台排序与基线（热门、ALS）"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["evaluate"])
        parser.add_argument("--interactions", required=True, help="CSV 文件：表头 user,item,timestamp[,weight]")
        parser.add_argument("--k", type=int, default=10, help="推荐列表长度（默认 10）")
        parser.add_argument("--seed", type=int, default=0, help="ALS 的随机种子（默认 0）")

    def handle(self, *args, **options):
        if options["k"] < 1:
            raise CommandError("--k 须为正整数")
        try:
            log = read_interactions(options["interactions"])
            result = evaluate_log(log, k=options["k"], seed=options["seed"])
        except InteractionFileError as error:
            raise CommandError(f"无法读取学习记录：{error}") from error
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(result, ensure_ascii=False))
