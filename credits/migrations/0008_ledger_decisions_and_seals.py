"""Decisions as append-only rows, per-teacher seals, the state an entry was recorded with,
closable cycles and longer (namespaced) source keys. The append-only trigger of 0003 is
dropped first: 0009 rewrites existing rows' checksums and keys once, and 0010 puts the
triggers back, now covering the new columns and the decision table."""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

append_only = import_module("credits.migrations.0003_append_only_ledger")


def drop_old_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(append_only.PG_DOWN, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(append_only.SQLITE_DOWN)


def restore_old_trigger(apps, schema_editor):
    append_only.forwards(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('credits', '0007_lean_ledger_indexes'),
        ('people', '0004_teacher_scoped_manager_export_request_school'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_old_trigger, restore_old_trigger),
        migrations.CreateModel(
            name='LedgerSeal',
            fields=[
                ('teacher', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='+', serialize=False, to='people.teacher')),
                ('entries', models.PositiveIntegerField()),
                ('decisions', models.PositiveIntegerField()),
                ('mac', models.CharField(max_length=64)),
            ],
            options={
                'verbose_name': '学时账本封签',
            },
        ),
        migrations.AddField(
            model_name='cycle',
            name='closed_on',
            field=models.DateField(blank=True, null=True, verbose_name='关闭日期'),
        ),
        migrations.AddField(
            model_name='ledgerentry',
            name='recorded_state',
            field=models.CharField(choices=[('pending', '待审核'), ('approved', '已认定'), ('rejected', '未通过'), ('revoked', '已撤销')], default='approved', max_length=10, verbose_name='记入时状态'),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='source_key',
            field=models.CharField(max_length=160),
        ),
        migrations.CreateModel(
            name='LedgerDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveSmallIntegerField()),
                ('stage', models.CharField(choices=[('school', '学校审核'), ('county', '县级认定'), ('revoke', '撤销'), ('correction', '更正')], max_length=12, verbose_name='环节')),
                ('state', models.CharField(choices=[('checked', '学校已审核'), ('approved', '已认定'), ('rejected', '未通过'), ('revoked', '已撤销')], max_length=10, verbose_name='结果')),
                ('at', models.DateTimeField(verbose_name='时间')),
                ('note', models.CharField(blank=True, max_length=500, verbose_name='说明')),
                ('mac', models.CharField(max_length=64)),
                ('actor', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entry', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='decisions', to='credits.ledgerentry')),
            ],
            options={
                'verbose_name': '学时审核记录',
                'ordering': ['entry', 'seq'],
                'constraints': [models.UniqueConstraint(fields=('entry', 'seq'), name='credits_decision_entry_seq')],
            },
        ),
    ]
