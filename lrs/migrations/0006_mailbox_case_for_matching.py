"""Statements whose actor's mailbox has capitals: their actor hash (and their credits' agent
key) as lrs.keys.learner_key gives it now, so they match the teacher who registered the
mailbox in lower case; completions that were held as unmatched go back to the queue when it
now names a teacher (the five-minute sweep credits them)."""

from django.db import migrations


def _rehash(apps, schema_editor):
    from lrs.keys import learner_key, value_hash

    Statement = apps.get_model("lrs", "Statement")
    StatementCredit = apps.get_model("lrs", "StatementCredit")
    LearnerIdentity = apps.get_model("lrs", "LearnerIdentity")
    changed: dict[int, str] = {}
    for seq, full in Statement.objects.filter(full__actor__mbox__regex="[A-Z]").values_list("seq", "full").iterator():
        key = learner_key(full.get("actor") or {})
        if key:
            changed[seq] = key
    teachers = dict(LearnerIdentity.objects.filter(key_hash__in={value_hash(k) for k in changed.values()})
                    .values_list("key_hash", "teacher_id"))
    for seq, key in changed.items():
        digest = value_hash(key)
        Statement.objects.filter(seq=seq).update(actor_hash=digest)
        if digest in teachers:
            Statement.objects.filter(seq=seq, teacher__isnull=True).update(teacher_id=teachers[digest])
        credits = StatementCredit.objects.filter(statement_id=seq)
        credits.update(agent_key=key, agent_hash=digest)
        if digest in teachers:
            credits.filter(state="unmatched").update(state="queued", reason="")


class Migration(migrations.Migration):

    dependencies = [
        ("lrs", "0005_statement_json_reader"),
    ]

    operations = [
        migrations.RunPython(_rehash, migrations.RunPython.noop),
    ]
