"""Plans record where they are decided (review_path, read by the access policy), and project
codes become unique within their organiser instead of across the province: another unit's
codes neither clash with nor reveal anything to a planner."""

from django.db import migrations, models


def fill_review_paths(apps, schema_editor):
    AnnualPlan = apps.get_model("catalog", "AnnualPlan")
    for plan in AnnualPlan.objects.select_related("division").iterator():
        division = plan.division
        if plan.school_id is not None:
            review = plan.division_path
        elif plan.level == "province":
            review = division.path
        elif division.is_direct_county:
            review = division.path.split(".")[0] + "."
        else:
            review = division.path.rsplit(".", 2)[0] + "."
        AnnualPlan.objects.filter(pk=plan.pk).update(review_path=review)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_annual_plans"), ("org", "0003_load_henan_divisions")]

    operations = [
        migrations.AddField(
            model_name="annualplan", name="review_path",
            field=models.CharField(default="", editable=False, max_length=100), preserve_default=False,
        ),
        migrations.RunPython(fill_review_paths, migrations.RunPython.noop),
        migrations.AlterField(model_name="project", name="code", field=models.CharField(max_length=40, verbose_name="项目编号")),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.UniqueConstraint(condition=models.Q(("organiser_school__isnull", True)),
                                               fields=("organiser", "code"), name="catalog_project_code_per_division"),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.UniqueConstraint(condition=models.Q(("organiser_school__isnull", False)),
                                               fields=("organiser_school", "code"), name="catalog_project_code_per_school"),
        ),
    ]
