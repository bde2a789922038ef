"""Rotating the personal-data keys: a field key (re-encryption) and a blind-index key
(reindexing), each with the former key retired while the data moves, without the audit log or
the hours ledger (signed under the integrity key) noticing."""

import base64
import csv
import datetime as dt
import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command

from access.scope import scope_for_user
from accounts.backends import account_for_login
from accounts.mobile import mobile_index
from accounts.models import User
from accounts.services import user_set_mobile
from audit.models import AuditEvent
from audit.services import audit_verify
from credits.services import ledger_entry_record
from credits.verification import ledger_verify
from people.id_lookup import teacher_id_lookup
from people.identity import (
    ID_PURPOSE,
    KeyMissing,
    blind_index_keys,
    id_blind_index,
    id_decrypt,
    id_encrypt,
    id_integrity_digest,
    key_id,
    keyed_digest,
)
from people.keys.columns import ENCRYPTED_COLUMNS
from people.keys.selectors import field_key_counts, index_key_counts
from people.keys.services import reindex, rotate_field
from people.models import Teacher
from people.services import TeacherData, teacher_create

MOBILE = "13912345678"
NUMBER = "110101199003070011"


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _v1_token(key: str, plaintext: str, associated: bytes) -> str:
    """A token as written before keys had ids: 'v1:' + base64(nonce + ciphertext)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(base64.urlsafe_b64decode(key)).encrypt(nonce, plaintext.encode(), associated)
    return "v1:" + base64.b64encode(nonce + sealed).decode()


@pytest.fixture
def keys(settings):
    """Explicitly configured keys, as a deployment has them; everything starts under A."""
    field_a, index_a = _new_key(), _new_key()
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS_RETIRED = field_a, []
    settings.BLIND_INDEX_KEY, settings.BLIND_INDEX_KEYS_RETIRED = index_a, []
    settings.INTEGRITY_KEY = None  # the default: the blind-index key, as before the keys were split
    return {"field_a": field_a, "index_a": index_a, "field_b": _new_key(), "index_b": _new_key()}


def _ids(key: str) -> str:
    return key_id(base64.urlsafe_b64decode(key))


# --- tokens and keyrings, no database -----------------------------------------------------


def test_new_tokens_name_their_key_by_fingerprint_and_v1_tokens_still_decrypt(keys, settings):
    token = id_encrypt(NUMBER)
    assert token.startswith(f"v2:{_ids(keys['field_a'])}:") and NUMBER not in token
    assert keys["field_a"] not in token and len(token) <= Teacher._meta.get_field("id_cipher").max_length
    legacy = _v1_token(keys["field_a"], NUMBER, ID_PURPOSE)
    assert id_decrypt(legacy) == NUMBER
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS_RETIRED = keys["field_b"], [keys["field_a"]]
    assert id_decrypt(token) == id_decrypt(legacy) == NUMBER  # under the retired key, named or not
    settings.FIELD_ENCRYPTION_KEYS_RETIRED = [f"{_new_key()}\n{keys['field_a']}\n"]  # a *_FILE with a key a line
    assert id_decrypt(token) == NUMBER
    assert id_encrypt(NUMBER).startswith(f"v2:{_ids(keys['field_b'])}:")


def test_a_missing_or_wrong_key_says_which_key_and_where_to_configure_it(keys, settings):
    token, legacy = id_encrypt(NUMBER), _v1_token(keys["field_a"], NUMBER, ID_PURPOSE)
    settings.FIELD_ENCRYPTION_KEY = keys["field_b"]  # A dropped too early
    with pytest.raises(KeyMissing, match=f"field key {_ids(keys['field_a'])} is not configured.*YANXIU_FIELD_KEYS_RETIRED"):
        id_decrypt(token)
    with pytest.raises(KeyMissing, match="no configured field key decrypts this v1 token"):
        id_decrypt(legacy)
    settings.FIELD_ENCRYPTION_KEYS_RETIRED = ["c2hvcnQ="]  # base64, but 5 bytes
    with pytest.raises(ImproperlyConfigured, match=r"YANXIU_FIELD_KEYS_RETIRED \(item 1\): key must be 32 bytes"):
        id_encrypt(NUMBER)
    settings.FIELD_ENCRYPTION_KEYS_RETIRED = []
    settings.BLIND_INDEX_KEY, settings.BLIND_INDEX_KEYS_RETIRED = keys["index_b"], [keys["index_a"]]
    with pytest.raises(KeyMissing, match="YANXIU_INTEGRITY_KEY"):  # never silently sign under the new key
        keyed_digest("audit.event", "x")


def test_the_integrity_key_defaults_to_the_blind_index_key_and_stays_when_that_key_rotates(keys, settings):
    before = {"digest": keyed_digest("audit.event", "x"), "id": id_integrity_digest(NUMBER)}
    assert before["id"] == id_blind_index(NUMBER)  # what external-hours keys were made of before the split
    settings.BLIND_INDEX_KEY, settings.BLIND_INDEX_KEYS_RETIRED = keys["index_b"], [keys["index_a"]]
    settings.INTEGRITY_KEY = keys["index_a"]
    assert {"digest": keyed_digest("audit.event", "x"), "id": id_integrity_digest(NUMBER)} == before
    assert id_blind_index(NUMBER) != before["id"]
    settings.BLIND_INDEX_KEYS_RETIRED = []  # A dropped as a blind-index key, kept as the integrity key
    assert keyed_digest("audit.event", "x") == before["digest"]


def test_prod_refuses_a_retired_blind_index_key_without_an_explicit_integrity_key():
    root = Path(django_settings.BASE_DIR)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YANXIU_", "DATABASE_URL")) and not k.endswith("_FILE")}
    env.update({"YANXIU_ENV": "prod", "SECRET_KEY": secrets.token_urlsafe(45)[:60], "ALLOWED_HOSTS": "example.org",
                "YANXIU_FIELD_KEY": _new_key(), "YANXIU_BLIND_INDEX_KEY": _new_key(),
                "YANXIU_BLIND_INDEX_KEYS_RETIRED": _new_key()})

    def check(**extra):
        return subprocess.run([sys.executable, "manage.py", "check"], cwd=root, env={**env, **extra},
                              capture_output=True, text=True, timeout=120)

    refused = check()
    assert refused.returncode != 0 and "YANXIU_INTEGRITY_KEY" in refused.stderr
    assert check(YANXIU_INTEGRITY_KEY=env["YANXIU_BLIND_INDEX_KEYS_RETIRED"]).returncode == 0


# --- the registry ---------------------------------------------------------------------------


def test_every_encrypted_field_of_every_model_is_registered_for_rotation():
    """A column holding tokens is named *_cipher or *_encrypted; each must be in the registry
    (or rotation would leave it under a retired key), and the registry names only real fields."""
    found = {f"{model._meta.label}.{field.name}" for model in apps.get_models() for field in model._meta.get_fields()
             if field.name.endswith(("_cipher", "_encrypted"))}
    assert found == {column.label for column in ENCRYPTED_COLUMNS}
    for column in ENCRYPTED_COLUMNS:
        model = apps.get_model(column.model)
        assert not column.index_field or model._meta.get_field(column.index_field).unique


def test_the_registry_indexes_values_as_the_lookups_do(keys):
    teacher, user = ENCRYPTED_COLUMNS
    current = blind_index_keys().current
    assert teacher.index_under is not None and user.index_under is not None
    assert teacher.index_under(current, NUMBER) == id_blind_index(NUMBER)
    assert user.index_under(current, MOBILE) == mobile_index(MOBILE)


# --- a whole rotation over the database -----------------------------------------------------


def _found(number: str, users) -> dict:
    """What must keep working at every step: decrypting, finding by number, logging in by mobile."""
    admin = users["province_admin"]
    lookup = teacher_id_lookup(scope=scope_for_user(admin), actor=admin, q=number, channel="test")
    fresh = User.objects.get(pk=users["teacher"].pk)
    return {
        "numbers": sorted(t.id_number for t in Teacher.objects.dangerously_unscoped().all()),
        "lookup": lookup.teacher_id if lookup else None,
        "login": getattr(account_for_login(MOBILE), "pk", None),
        "mobile": fresh.mobile,
    }


def _counts(counts) -> dict:
    return {(c.column, c.key_id): c.rows for c in counts if c.key_id}


def test_rotate_both_keys_then_drop_the_former_ones(keys, settings, province, users, capsys):
    teacher_user, number = users["teacher"], province.teacher.id_number
    user_set_mobile(scope=scope_for_user(teacher_user), actor=teacher_user, mobile=MOBILE)
    legacy = province.sibling_teacher  # written before tokens named their key
    Teacher.objects.dangerously_unscoped().filter(pk=legacy.pk).update(
        id_cipher=_v1_token(keys["field_a"], legacy.id_number, ID_PURPOSE))
    ledger_entry_record(teacher=province.teacher, category="centralised", hours="6", occurred_on=dt.date(2026, 3, 10),
                        source_type="project", source_id="P-1", today=dt.date(2026, 11, 28))
    expected = _found(number, users)
    assert expected["lookup"] == province.teacher.pk and expected["login"] == teacher_user.pk
    assert audit_verify() == [] and ledger_verify() == []

    # Both keys rotate: B current, A retired; the integrity key stays A's blind-index key.
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS_RETIRED = keys["field_b"], [keys["field_a"]]
    settings.BLIND_INDEX_KEY, settings.BLIND_INDEX_KEYS_RETIRED = keys["index_b"], [keys["index_a"]]
    settings.INTEGRITY_KEY = keys["index_a"]
    assert _found(number, users) == expected
    assert audit_verify() == [] and ledger_verify() == []
    with pytest.raises(ValidationError):  # a number indexed under A is still taken
        teacher_create(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], data=TeacherData(
            name="重复", id_number=number, school=province.school, stage="primary",
            subjects=["chinese"], title="first", hire_date=dt.date(2010, 9, 1)))
    a, b = _ids(keys["field_a"]), _ids(keys["field_b"])
    assert _counts(field_key_counts()) == {("people.Teacher.id_cipher", a): 3, ("people.Teacher.id_cipher", "v1"): 1,
                                           ("accounts.User.mobile_cipher", a): 1}

    passes = rotate_field(batch_size=2)
    assert [(p.column, p.changed) for p in passes] == [("people.Teacher.id_cipher", 4), ("accounts.User.mobile_cipher", 1)]
    assert _counts(field_key_counts()) == {("people.Teacher.id_cipher", b): 4, ("accounts.User.mobile_cipher", b): 1}
    assert [p.changed for p in rotate_field()] == [0, 0]  # idempotent: nothing left under a retired key
    index_a, index_b = _ids(keys["index_a"]), _ids(keys["index_b"])
    assert _counts(index_key_counts()) == {("people.Teacher.id_cipher", index_a): 4,
                                           ("accounts.User.mobile_cipher", index_a): 1}
    assert [p.changed for p in reindex(batch_size=3)] == [4, 1]
    assert [p.changed for p in reindex()] == [0, 0]
    assert _counts(index_key_counts()) == {("people.Teacher.id_cipher", index_b): 4,
                                           ("accounts.User.mobile_cipher", index_b): 1}
    assert _found(number, users) == expected

    call_command("keys", "status")
    out = capsys.readouterr().out
    assert f"已退役密钥 {a}：已无数据使用，可以从配置中移除" in out

    # A dropped: everything still decrypts, is found, and the chains still verify under A.
    settings.FIELD_ENCRYPTION_KEYS_RETIRED, settings.BLIND_INDEX_KEYS_RETIRED = [], []
    assert _found(number, users) == expected
    assert audit_verify() == [] and ledger_verify() == []
    call_command("audit", "verify")
    call_command("credits", "verify")

    events = AuditEvent.objects.dangerously_unscoped().filter(action__in=["keys.rotate_field", "keys.reindex"])
    assert events.count() == 8  # started and done, for each of the 4 runs
    text = json.dumps(list(events.values_list("detail", flat=True)), ensure_ascii=False)
    assert MOBILE not in text and number not in text and keys["field_a"] not in text


def test_rotation_resumes_after_the_last_batch_it_committed(keys, settings, province, capsys):
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS_RETIRED = keys["field_b"], [keys["field_a"]]
    first = sorted(Teacher.objects.dangerously_unscoped().values_list("pk", flat=True))[1]
    call_command("keys", "rotate-field", "--column", "people.Teacher.id_cipher", "--after-id", str(first),
                 "--batch-size", "1")
    out = capsys.readouterr().out
    assert "people.Teacher.id_cipher: 1 changed of 1 examined" in out and "检查 2 行，更新 2 行" in out
    by_key = _counts(field_key_counts(["people.Teacher.id_cipher"]))
    assert by_key == {("people.Teacher.id_cipher", _ids(keys["field_a"])): 2,
                      ("people.Teacher.id_cipher", _ids(keys["field_b"])): 2}
    call_command("keys", "rotate-field", "--column", "people.Teacher.id_cipher")
    assert "检查 2 行，更新 2 行" in capsys.readouterr().out  # only the rest


def test_importers_match_teachers_still_indexed_under_the_retired_key(keys, settings, province, users):
    """A roster import and an external-hours import during a blind-index rotation find the
    teacher rather than creating a second one, and an external record keeps its identity
    across the reindex (it is keyed by the integrity key, not by the stored index)."""
    from credits.external_import import COLUMNS as HOURS_COLUMNS
    from credits.external_import import external_hours_import, organiser_normalise
    from credits.models import OrganiserAlias
    from org.models import Institution
    from people.roster.columns import COLUMNS as ROSTER_COLUMNS
    from people.roster.importer import RosterImporter

    def csv_of(header, rows) -> io.BytesIO:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        return io.BytesIO(text.getvalue().encode("utf-8-sig"))

    institute = Institution.objects.create(code="410000-JYS", name="教研室", kind="provincial_institute",
                                           division=province.province)
    OrganiserAlias.objects.create(name=organiser_normalise("教研室"), institution=institute)
    admin, number = users["county_admin"], province.teacher.id_number
    hours_row = [number, "张三", "暑期研修", "教研室", "6", "网络研修", "2026-03-05", ""]

    def import_hours():
        return external_hours_import(scope=scope_for_user(admin), actor=admin, handle=csv_of(HOURS_COLUMNS, [hours_row]),
                                     name="hours.csv").batch

    assert import_hours().created == 1
    settings.BLIND_INDEX_KEY, settings.BLIND_INDEX_KEYS_RETIRED = keys["index_b"], [keys["index_a"]]
    settings.INTEGRITY_KEY = keys["index_a"]
    roster_row = ["", "张三", number, province.school.code, "小学", "数学", "一级教师", "2012-09-01", "在岗", ""]
    report = RosterImporter(scope=scope_for_user(admin), actor=admin).run(csv_of(ROSTER_COLUMNS, [roster_row]), "r.csv")
    assert (report.created, report.updated, report.rejected) == (0, 1, 0)
    assert import_hours().duplicates == 1  # found under A, and the same record
    reindex()
    assert import_hours().duplicates == 1  # found under B, still the same record
    assert Teacher.objects.dangerously_unscoped().filter(name="张三").count() == 1
    assert list(province.teacher.subjects.values_list("subject", flat=True)) == ["math"]
