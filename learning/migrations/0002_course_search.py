"""The course search index (learning.search) replaces the interim `tag_text` filter column.

PostgreSQL: a tsvector column with a GIN index on learning_course. SQLite: an FTS5 table
whose rowid is the course id. Neither is a model field (the ORM never reads them), so the
operations are per database vendor. The index of courses that exist already is written by
`yanxiu learning reindex` (this migration imports no app code: it cannot cut Chinese words).
"""

from django.db import migrations

PG_FORWARD = [
    "ALTER TABLE learning_course ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector",
    "CREATE INDEX learning_course_search ON learning_course USING gin (search_vector)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS learning_course_search",
    "ALTER TABLE learning_course DROP COLUMN IF EXISTS search_vector",
]
# unicode61 keeps a run of Chinese characters as one token; the words arrive cut and separated
# by spaces. '_' and ':' are word characters here so that filter tokens (stage:junior,
# topic:moral_in_subject) stay whole; accents are kept, as on PostgreSQL.
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE learning_course_fts USING fts5(title, tags, provider, description, filters,"
    " tokenize = \"unicode61 remove_diacritics 0 tokenchars '_:'\")",
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS learning_course_fts"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0001_course_library'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='course',
            name='tag_text',
        ),
        migrations.RunPython(_run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
                             _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})),
    ]
