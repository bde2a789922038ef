"""Load Henan's real divisions (org/data/henan_divisions.csv) with materialised paths."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "henan_divisions.csv"


def load(apps, schema_editor):
    Division = apps.get_model("org", "Division")
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_code = {}
    for level in ("province", "city", "county"):
        for row in rows:
            if row["level"] != level or Division.objects.filter(code=row["code"]).exists():
                continue
            parent = by_code.get(row["parent_code"]) or Division.objects.filter(code=row["parent_code"]).first()
            path = (parent.path if parent else "") + row["code"] + "."
            by_code[row["code"]] = Division.objects.create(
                code=row["code"], name=row["name"], level=level, parent=parent, path=path,
                is_direct_county=row["is_direct_county"] == "1",
            )


class Migration(migrations.Migration):
    dependencies = [("org", "0002_community_chief_teacher")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
