from django.core.management.base import BaseCommand, CommandError

from org.models import Division
from org.services import direct_counties_set


class Command(BaseCommand):
    help = "组织机构：direct-counties [CODE,CODE,...] 查看或设置省直管县名单"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["direct-counties"])
        parser.add_argument("codes", nargs="?", help="逗号分隔的县级区划代码；省略则只显示当前名单")

    def handle(self, *args, **options):
        if options["codes"]:
            try:
                direct_counties_set(codes={code.strip() for code in options["codes"].split(",") if code.strip()})
            except ValueError as error:
                raise CommandError(str(error)) from error
        for division in Division.objects.filter(is_direct_county=True).select_related("parent"):
            self.stdout.write(f"{division.code} {division.name}（{division.parent.name}）")
