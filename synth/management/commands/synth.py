from django.core.management.base import BaseCommand, CommandError

from people.models import Teacher
from synth.services import SynthRefused, province_synthesize


class Command(BaseCommand):
    help = "生成模拟省份：yanxiu synth --scale S|M|L|<比例> --seed N（生产环境禁止）"

    def add_arguments(self, parser):
        parser.add_argument("--scale", default="S", help="S=一个县, M=一个市, L=全省, 或 0~1 的比例（全省按比例缩小）")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--division", help="S 或 M 规模时使用的县/市区划代码")
        parser.add_argument("--if-empty", action="store_true", help="已有教师数据时什么也不做")
        parser.add_argument("--no-ledger", action="store_true", help="不生成学时记录（只要名册时更快）")
        parser.add_argument("--no-training", action="store_true", help="不生成培训计划、项目与报名")

    def handle(self, *args, **options):
        if options["if_empty"] and Teacher.objects.dangerously_unscoped().exists():
            self.stdout.write("已有数据，跳过生成。")
            return
        try:
            result = province_synthesize(scale=options["scale"], seed=options["seed"], division_code=options["division"],
                                         with_ledger=not options["no_ledger"], with_training=not options["no_training"])
        except SynthRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(result.as_json())
