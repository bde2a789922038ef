"""Fill the progress table from the enrolments already completed (one INSERT … SELECT): per
teacher, level and cycle the earliest completion of a high-end project of a task level ending in
the cycle, with the teacher's division and school as they are now (the enrolments keep no
history of them). The same statement as `quotas.progress.completions_backfill`, copied here so
the migration does not change when the module does."""

from django.db import migrations

BACKFILL = """
INSERT INTO quotas_highendcompletion (teacher_id, level, cycle_id, division_path, school_id, enrolment_id,
                                      project_id, completed_at)
SELECT teacher_id, level, cycle_id, division_path, school_id, enrolment_id, project_id, completed_at FROM (
    SELECT e.teacher_id, p.level, c.id AS cycle_id, t.division_path, t.school_id, e.id AS enrolment_id,
           p.id AS project_id, e.completed_at,
           ROW_NUMBER() OVER (PARTITION BY e.teacher_id, p.level, c.id
                              ORDER BY e.completed_at IS NULL, e.completed_at, e.id) AS n
    FROM catalog_enrolment e
    JOIN catalog_project p ON p.id = e.project_id
    JOIN people_teacher t ON t.id = e.teacher_id
    JOIN credits_cycle c ON p.ends_on >= c.starts_on AND p.ends_on <= c.ends_on
    WHERE e.state = %s AND p.is_high_end = %s AND p.level IN (%s, %s, %s)
) AS q
WHERE n = 1
ON CONFLICT DO NOTHING
"""


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL, ["completed", True, "province", "city", "county"])


class Migration(migrations.Migration):
    dependencies = [
        ("quotas", "0003_highendcompletion"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
