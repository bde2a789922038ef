"""yanxiu learning reindex

Rebuilds the course search index (learning.search) from every course: after migrating a
database that held courses before the index existed, or after changing the search dictionary
(learning/search_words.txt). The services keep it up to date otherwise."""

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from learning.search import reindex_all


class Command(BaseCommand):
    help = "课程资源库：reindex（重建课程搜索索引）"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["reindex"])

    def handle(self, *args, **options):
        started = time.perf_counter()
        with transaction.atomic():
            count = reindex_all()
        self.stdout.write(f"已重建搜索索引：{count} 门课程，用时 {time.perf_counter() - started:.1f} 秒")
