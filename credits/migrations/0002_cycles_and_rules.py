"""The national five-year cycles: 2021–2025 (closed) and 2026–2030 (current),
each with version 1 of its rules: 360 hours, 1 hour = 1 credit, and no
per-category minimum or cap (Henan's own 学分管理办法 was not found; the
province administrator sets them, which makes version 2)."""

import datetime as dt

from django.db import migrations

CYCLES = (("2021-2025", dt.date(2021, 1, 1), dt.date(2025, 12, 31)), ("2026-2030", dt.date(2026, 1, 1), dt.date(2030, 12, 31)))
CATEGORIES = ("centralised", "online", "school_based", "guidance", "other")


def load(apps, schema_editor):
    Cycle = apps.get_model("credits", "Cycle")
    RuleSet = apps.get_model("credits", "RuleSet")
    CategoryRule = apps.get_model("credits", "CategoryRule")
    for code, starts_on, ends_on in CYCLES:
        cycle, _ = Cycle.objects.get_or_create(code=code, defaults={"starts_on": starts_on, "ends_on": ends_on})
        rule_set, created = RuleSet.objects.get_or_create(
            cycle=cycle, version=1, defaults={"required_hours": 360, "hours_per_credit": 1, "note": "初始规则：五年一周期360学时"}
        )
        if created:
            CategoryRule.objects.bulk_create(CategoryRule(rule_set=rule_set, category=c) for c in CATEGORIES)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_ledger")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
