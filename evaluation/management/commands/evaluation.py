"""yanxiu evaluation rank --year Y
yanxiu evaluation confirm-due

rank computes (or recomputes) a year's performance scores, ranks and bottom-ranked flags as the
province (the operator), under the year's weights in force; it is refused once a case of the year
has been appealed or decided. confirm-due confirms the flagged cases whose appeal period has
passed and applies their sanctions (the daily task does the same). Each prints one JSON object."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from access.scope import Scope
from core.requests import error_text
from evaluation.performance import cases_confirm_due, ranking_compute
from org.models import Division


class Command(BaseCommand):
    help = "绩效评价：rank --year Y 计算年度绩效排名；confirm-due 确认申诉期已过的末位淘汰"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["rank", "confirm-due"])
        parser.add_argument("--year", type=int, help="rank：年度")

    def handle(self, *args, **options):
        if options["operation"] == "confirm-due":
            self.stdout.write(json.dumps({"confirmed": cases_confirm_due()}, ensure_ascii=False))
            return
        if not options["year"]:
            raise CommandError("rank 需要 --year 年度")
        province = Division.objects.filter(level="province").first()
        if province is None:
            raise CommandError("没有省级区划")
        try:
            summary = ranking_compute(scope=Scope.division(province), actor=None, year=options["year"])
        except ValidationError as error:
            raise CommandError(error_text(error)) from error
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
