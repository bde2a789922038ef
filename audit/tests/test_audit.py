"""SECURITY 10 and 11: complete audit rows, append-only in the database,
hash-chained so tampering is found, and the action fails with its audit row."""

import logging
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record, audit_verify
from conftest import PASSWORD
from people.services import TeacherData, teacher_update

FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _data(teacher, **changes) -> TeacherData:
    values = dict(name=teacher.name, id_number=teacher.id_number, school=teacher.school, stage=teacher.stage,
                  subjects=["chinese"], title=teacher.title, hire_date=teacher.hire_date, status=teacher.status)
    values.update(changes)
    return TeacherData(**values)


def test_each_event_writes_exactly_one_complete_row(users, client, client_for, province):
    client.post("/accounts/login/", {"username": users["county_admin"].username, "password": PASSWORD})
    client.post("/accounts/login/", {"username": users["county_admin"].username, "password": "nope-nope-1"})
    client_for(users["county_admin"]).post(f"/teachers/{province.teacher.pk}/reveal-id/")
    from org.scope import scope_for_user

    teacher_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], teacher=province.teacher,
                   data=_data(province.teacher, title="senior"), ip="10.1.2.3")
    for action, object_id in [("login.success", ""), ("login.failure", None), ("teacher.id_reveal", str(province.teacher.pk)),
                              ("teacher.update", str(province.teacher.pk))]:
        rows = AuditEvent.objects.filter(action=action)
        assert rows.count() == 1, action
        row = rows.get()
        assert row.at is not None and row.hash and row.prev_hash
        if action != "login.failure":
            assert row.actor == users["county_admin"]
        if object_id:
            assert row.object_id == object_id and row.scope_path == province.teacher.division_path
    assert AuditEvent.objects.get(action="teacher.update").ip == "10.1.2.3"
    assert AuditEvent.objects.get(action="login.failure").detail["username"] == users["county_admin"].username


@pytest.mark.django_db
def test_raw_update_is_refused_by_the_database():
    event = audit_record(action="logout")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action == "logout"


@pytest.mark.pg_only
@pytest.mark.django_db
def test_raw_delete_is_refused_on_postgresql():
    event = audit_record(action="logout")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_verify_finds_a_removed_or_edited_row():
    events = [audit_record(action="logout", detail={"n": n}) for n in range(4)]
    assert audit_verify() == []
    call_command("audit", "verify")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("UPDATE audit_auditevent SET detail = '{\"n\": 99}' WHERE id = %s", [events[1].pk])
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        else:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    problems = audit_verify()
    assert problems and any(f"#{events[2].pk}" in p or f"#{events[1].pk}" in p for p in problems)
    with pytest.raises(CommandError, match="校验失败"):
        call_command("audit", "verify")


def test_a_failing_audit_write_rolls_the_action_back(users, province, monkeypatch):
    from org.scope import scope_for_user
    from people import services

    def broken(**kwargs):
        raise DatabaseError("audit store unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(DatabaseError):
        services.teacher_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                                teacher=province.teacher, data=_data(province.teacher, name="不该保存"))
    province.teacher.refresh_from_db()
    assert province.teacher.name == "张三"


def test_logs_never_hold_a_full_id_number_or_password(users, client, client_for, province, caplog):
    caplog.set_level(logging.DEBUG)
    number = province.teacher.id_number
    client.post("/accounts/login/", {"username": users["county_admin"].username, "password": PASSWORD})
    admin = client_for(users["county_admin"])
    admin.get("/teachers/", {"q": number})
    admin.get(f"/teachers/{province.sibling_teacher.pk}/")  # a 404 is logged with its path
    logging.getLogger("yanxiu.test").warning("looked up %s", number)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert text  # something was logged
    assert not FULL_ID.search(text)
    assert PASSWORD not in text
    for event in AuditEvent.objects.all():
        assert not FULL_ID.search(str(event.detail))


def test_audit_log_page_is_scoped(users, client_for, province):
    from org.scope import scope_for_user

    teacher_update(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"],
                   teacher=province.sibling_teacher, data=_data(province.sibling_teacher, title="senior"))
    def table(user) -> str:
        return client_for(user).get("/audit/").content.decode().split("<tbody>")[1]

    assert "修改教师信息" not in table(users["county_admin"])
    assert "修改教师信息" in table(users["city_admin"])
    assert client_for(users["school_admin"]).get("/audit/").status_code == 403
