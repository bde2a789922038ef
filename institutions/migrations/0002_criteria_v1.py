"""The first version of the province's accreditation criteria (准入认定标准, 第1版)."""

import datetime as dt

from django.db import migrations

CRITERIA = [
    ("trainers", "专兼职培训者队伍", "专职培训者不少于10人，兼职专家库结构合理，具有相应资质", 30),
    ("sites", "培训场地与设施", "具备与培训规模相适应的教室、研修场所和网络研修条件", 20),
    ("performance", "以往培训绩效", "近三年承担的培训项目参训满意度、结业率与绩效评估结果", 30),
    ("management", "管理制度与质量保障", "项目管理、经费管理、学员管理和质量监测制度健全", 20),
]


def load(apps, schema_editor):
    CriteriaSet = apps.get_model("institutions", "CriteriaSet")
    Criterion = apps.get_model("institutions", "Criterion")
    criteria, created = CriteriaSet.objects.get_or_create(
        version=1, defaults={"title": "河南省教师培训机构资质认定标准", "effective_from": dt.date(2026, 1, 1),
                             "pass_score": 60})
    if created:
        for order, (code, name, description, max_score) in enumerate(CRITERIA):
            Criterion.objects.create(criteria=criteria, code=code, name=name, description=description,
                                     max_score=max_score, order=order)


class Migration(migrations.Migration):
    dependencies = [("institutions", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
