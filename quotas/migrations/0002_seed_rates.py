"""The policy's initial rates of the high-end task: the province 4 %, a city 7 %, a county 20 % of
the full-time K-12 teachers of its area (a later change is a new version, not an edit)."""

from django.db import migrations

RATES = (("province", "4.00"), ("city", "7.00"), ("county", "20.00"))


def load(apps, schema_editor):
    """省级负责完成全省4%、市级负责完成市域7%、县级负责完成县域20%基础教育专任教师的高端培育任务."""
    import datetime as dt
    from decimal import Decimal

    TargetRate = apps.get_model("quotas", "TargetRate")
    for level, percent in RATES:
        if not TargetRate._base_manager.filter(level=level).exists():
            TargetRate._base_manager.create(level=level, version=1, percent=Decimal(percent),
                                            effective_from=dt.date(2021, 1, 1), note="政策初始比例")


def unseed_rates(apps, schema_editor):
    apps.get_model("quotas", "TargetRate")._base_manager.filter(version=1, note="政策初始比例").delete()


class Migration(migrations.Migration):
    dependencies = [("quotas", "0001_initial")]

    operations = [migrations.RunPython(load, unseed_rates)]
