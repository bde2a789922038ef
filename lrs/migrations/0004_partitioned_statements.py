"""Statements partitioned by month of `stored` on PostgreSQL (lrs.partitions).

A partitioned table's unique keys must include its partition key, so: statement ids become
unique through their own table (StatementKey), index rows carry their statement's `stored` and
name it by (seq, stored) with no foreign-key constraint, and credits keep the statement's seq
without one."""

import django.db.models.deletion
from django.db import migrations, models

from lrs.partitions import statement_table_partition


def _partition(apps, schema_editor):
    statement_table_partition(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('lrs', '0003_teacher_records_by_time'),
    ]

    operations = [
        # Index rows: the statement's seq as a plain column, its stored beside it.
        migrations.AlterField(
            model_name='statementindex',
            name='statement',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name='+', to='lrs.statement'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name='statementindex', name='lrs_index_lookup'),
                migrations.RemoveField(model_name='statementindex', name='statement'),
                migrations.AddField(model_name='statementindex', name='statement_id',
                                    field=models.BigIntegerField()),
                migrations.AddIndex(model_name='statementindex',
                                    index=models.Index(fields=['kind', 'value_hash', 'statement_id'],
                                                       name='lrs_index_lookup')),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name='statementindex',
            name='stored',
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE lrs_statementindex SET stored = "
            "(SELECT s.stored FROM lrs_statement s WHERE s.seq = lrs_statementindex.statement_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='statementindex',
            name='stored',
            field=models.DateTimeField(),
        ),
        migrations.AddField(
            model_name='statementindex',
            name='statement',
            field=models.ForeignObject(from_fields=('statement_id', 'stored'), on_delete=django.db.models.deletion.DO_NOTHING,
                                       related_name='+', to='lrs.statement', to_fields=('seq', 'stored')),
        ),
        migrations.AlterField(
            model_name='statementcredit',
            name='statement',
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                       related_name='credit', to='lrs.statement'),
        ),
        # Statement ids: unique through their own table.
        migrations.CreateModel(
            name='StatementKey',
            fields=[
                ('statement_id', models.UUIDField(primary_key=True, serialize=False)),
                ('seq', models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO lrs_statementkey (statement_id, seq) SELECT statement_id, seq FROM lrs_statement",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='statement',
            name='statement_id',
            field=models.UUIDField(),
        ),
        migrations.AddIndex(
            model_name='statement',
            index=models.Index(fields=['statement_id'], name='lrs_statement_id'),
        ),
        migrations.RunPython(_partition),  # one way: a partitioned table cannot go back to a unique id column
    ]
