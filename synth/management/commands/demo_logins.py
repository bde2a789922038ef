from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User

SHOWN = ("admin-410000", "admin-410200", "admin-410221", "admin-410225", "admin-410300")


class Command(BaseCommand):
    help = "打印演示账户（密码来自 YANXIU_DEMO_PASSWORD）"

    def handle(self, *args, **options):
        users = {u.username: u for u in User.objects.filter(is_active=True).select_related("division", "school")}
        picks = [name for name in SHOWN if name in users]
        for prefix in ("school-410221", "teacher-", "expert-", "staff-"):
            picks += sorted(name for name in users if name.startswith(prefix))[:1]
        self.stdout.write("\n研修平台已就绪： http://127.0.0.1:8000/")
        self.stdout.write(f"演示账户（密码均为 {settings.DEMO_PASSWORD or '未设置 YANXIU_DEMO_PASSWORD'}）：")
        for name in picks:
            user = users[name]
            where = user.division.name if user.division_id else user.school.name if user.school_id else user.first_name
            self.stdout.write(f"  {name:<24} {user.get_role_display()} {where}")
        self.stdout.write("  其余每个区划均有 admin-<区划代码>，例如 admin-410102（中原区）。")
        from lrs.models import LrsClient
        from synth.learning import DEMO_KEY

        if LrsClient.objects.dangerously_unscoped().filter(key=DEMO_KEY, revoked_at__isnull=True).exists():
            self.stdout.write(f"xAPI 学习记录接口： http://127.0.0.1:8000/xapi/ （HTTP Basic：账号 {DEMO_KEY}，密钥同上述密码）")
        self.stdout.write("")
