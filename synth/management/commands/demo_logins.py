from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import Role, User


class Command(BaseCommand):
    help = "打印演示账户（密码来自 YANXIU_DEMO_PASSWORD）"

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="服务地址（make run 传入实际端口）")

    def handle(self, *args, **options):
        url = options["url"].rstrip("/") + "/"
        users = {u.username: u for u in User.objects.filter(is_active=True).select_related(
            "division", "school__division__parent", "institution", "teacher__school__division__parent")}
        self.stdout.write(f"\n研修平台已就绪： {url}")
        self.stdout.write(f"演示账户（密码均为 {settings.DEMO_PASSWORD or '未设置 YANXIU_DEMO_PASSWORD'}）：")
        for name in self._chain(users):
            user = users[name]
            self.stdout.write(f"  {name:<22} {user.get_role_display()}：{self._where(user)}")
        self.stdout.write("  其余每个区划均有 admin-<区划代码>，例如 admin-410221（杞县）。")
        from lrs.models import LrsClient
        from synth.learning import DEMO_KEY

        if LrsClient.objects.dangerously_unscoped().filter(key=DEMO_KEY, revoked_at__isnull=True).exists():
            self.stdout.write(f"xAPI 学习记录接口： {url}xapi/ （HTTP Basic：账号 {DEMO_KEY}，密钥同上述密码）")
        self.stdout.write("")

    @staticmethod
    def _chain(users: dict) -> list[str]:
        """The accounts that belong together: the demo teachers, their school's admin, their
        county's and city's admins and the province's; then an expert and institution staff."""
        picks = ["admin-410000"]
        teacher = users.get("teacher-1")
        if teacher is not None and teacher.teacher_id:
            school = teacher.teacher.school
            county = school.division
            if county.parent is not None and county.parent.level == "city":
                picks.append(f"admin-{county.parent.code}")
            picks += [f"admin-{county.code}", f"school-{school.code}"]
        picks += sorted((n for n in users if n.startswith("teacher-")), key=lambda n: (len(n), n))
        picks += sorted(n for n in users if n.startswith("expert-"))[:1]
        picks += sorted((n for n in users if users[n].role == Role.INSTITUTION_STAFF), key=lambda n: (n != "staff-410000-yxy", n))[:2]
        return [n for n in dict.fromkeys(picks) if n in users]

    @staticmethod
    def _where(user) -> str:
        if user.teacher_id:
            return f"{user.teacher.name}，{user.teacher.school.name}（{user.teacher.school.division.name}）"
        if user.school_id:
            return f"{user.school.name}（{user.school.division.name}）"
        if user.division_id:
            return user.division.name
        return user.institution.name if user.institution_id else user.first_name
