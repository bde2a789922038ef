"""What is audited and how the audit trail holds: one complete audit row per audited action, append-only
in the database, hash-chained so tampering is found, the action fails with
its audit row, and logs never hold a full ID number."""

import datetime as dt
import io
import logging
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from access.scope import scope_for_user
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_record, audit_verify
from conftest import PASSWORD
from people.identity import id_mask
from people.services import TeacherData, teacher_update

FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _data(teacher, **changes) -> TeacherData:
    values = dict(name=teacher.name, id_number=teacher.id_number, school=teacher.school, stage=teacher.stage,
                  subjects=["chinese"], title=teacher.title, hire_date=teacher.hire_date, status=teacher.status)
    values.update(changes)
    return TeacherData(**values)


def _edit_form(teacher, **changes) -> dict:
    form = {"name": teacher.name, "school_code": teacher.school.code, "stage": teacher.stage, "main_subject": "chinese",
            "title": teacher.title, "hire_date": teacher.hire_date.isoformat(), "status": teacher.status, "honours": ""}
    form.update(changes)
    return form


def _new_events(since: int):
    return AuditEvent.objects.dangerously_unscoped().filter(pk__gt=since).order_by("id")


def _last_id() -> int:
    return AuditEvent.objects.dangerously_unscoped().order_by("-id").values_list("id", flat=True).first() or 0


def _assert_complete(event, *, action, actor, ip, scope_path, object_type, object_id, result="success"):
    assert event.action == action
    assert event.actor == actor and event.actor_username == (actor.username if actor else "")
    assert event.ip == ip
    assert event.scope_path == scope_path
    assert (event.object_type, event.object_id) == (object_type, str(object_id))
    assert event.result == result
    assert event.at is not None and event.at.utcoffset() == dt.timedelta(0)
    assert len(event.hash) == 64 and len(event.prev_hash) == 64


# --- each event, exactly one complete row -------------------------------------------


def test_login_success_writes_one_complete_row(users, client):
    admin = users["county_admin"]
    since = _last_id()
    assert client.post("/accounts/login/", {"username": admin.username, "password": PASSWORD},
                       REMOTE_ADDR="10.1.2.3").status_code == 302
    [event] = _new_events(since)
    _assert_complete(event, action="login.success", actor=admin, ip="10.1.2.3", scope_path=admin.division.path,
                     object_type="user", object_id=admin.pk)


def test_login_failures_write_one_row_each(users, client):
    admin = users["county_admin"]
    since = _last_id()
    client.post("/accounts/login/", {"username": admin.username, "password": "nope-nope-1"}, REMOTE_ADDR="10.1.2.4")
    [event] = _new_events(since)
    # Nobody signed in, so no actor; the targeted account is the object, in its jurisdiction.
    _assert_complete(event, action="login.failure", actor=None, ip="10.1.2.4", scope_path=admin.division.path,
                     object_type="user", object_id=admin.pk, result="refused")
    assert event.detail == {"username": admin.username, "failures": 1}
    since = event.pk
    client.post("/accounts/login/", {"username": "nobody-here", "password": "nope-nope-1"}, REMOTE_ADDR="10.1.2.4")
    [event] = _new_events(since)
    _assert_complete(event, action="login.failure", actor=None, ip="10.1.2.4", scope_path="",
                     object_type="", object_id="", result="refused")
    assert event.detail["username"] == "nobody-here"


def test_id_reveal_writes_one_complete_row(users, client_for, province):
    admin, teacher = users["county_admin"], province.teacher
    since = _last_id()
    response = client_for(admin).post(f"/teachers/{teacher.pk}/reveal-id/", REMOTE_ADDR="10.1.2.5")
    assert response.status_code == 200 and teacher.id_number in response.content.decode()
    [event] = _new_events(since)
    _assert_complete(event, action="teacher.id_reveal", actor=admin, ip="10.1.2.5", scope_path=teacher.division_path,
                     object_type="teacher", object_id=teacher.pk)
    assert not FULL_ID.search(str(event.detail))


def test_teacher_update_writes_one_complete_row(users, client_for, province):
    admin, teacher = users["county_admin"], province.teacher
    since = _last_id()
    response = client_for(admin).post(f"/teachers/{teacher.pk}/edit/", _edit_form(teacher, title="senior"),
                                      REMOTE_ADDR="10.1.2.6")
    assert response.status_code == 302
    [event] = _new_events(since)
    _assert_complete(event, action="teacher.update", actor=admin, ip="10.1.2.6", scope_path=teacher.division_path,
                     object_type="teacher", object_id=teacher.pk)
    assert event.detail == {"changed": {"title": {"before": "first", "after": "senior"}}}
    # Saving again without a change records nothing.
    since = event.pk
    teacher.refresh_from_db()
    client_for(admin).post(f"/teachers/{teacher.pk}/edit/", _edit_form(teacher))
    assert not _new_events(since).exists()


def test_the_rows_form_one_chain(users, client_for, province):
    client_for(users["county_admin"]).post(f"/teachers/{province.teacher.pk}/reveal-id/")
    for n in range(3):
        audit_record(action="logout", detail={"n": n})
    events = list(AuditEvent.objects.dangerously_unscoped().order_by("id"))
    assert events[0].prev_hash == "0" * 64
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False))
    head = AuditChainHead.objects.get(chain=0)
    assert (head.last_id, head.event_count, head.last_hash) == (events[-1].pk, len(events), events[-1].hash)


# --- append-only, tamper-evident ----------------------------------------------------


@pytest.mark.django_db
def test_raw_update_is_refused_by_the_database():
    event = audit_record(action="logout")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action == "logout"
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.dangerously_unscoped().filter(pk=event.pk).update(result="refused")  # the ORM is refused too
    assert audit_verify() == []


@pytest.mark.pg_only
@pytest.mark.django_db
def test_raw_delete_is_refused_on_postgresql():
    event = audit_record(action="logout")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.dangerously_unscoped().filter(pk=event.pk).delete()
    assert AuditEvent.objects.dangerously_unscoped().filter(pk=event.pk).exists()
    assert audit_verify() == []


def _chain(n=5) -> list[AuditEvent]:
    return [audit_record(action="logout", detail={"n": n}) for n in range(n)]


def _bypass_triggers(cursor) -> None:
    """What an attacker with table-owner rights could do."""
    if connection.vendor == "postgresql":
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    else:
        cursor.execute("DROP TRIGGER audit_event_no_update")  # rolled back with the test


@pytest.mark.django_db
def test_verify_passes_an_intact_chain():
    _chain()
    assert audit_verify() == []
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "完整" in out.getvalue()


@pytest.mark.django_db
def test_verify_finds_an_edited_row():
    events = _chain()
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', events[2].pk])
    problems = audit_verify()
    assert problems == [f"#{events[2].pk}: 内容与哈希不符（记录被改动）"]
    with pytest.raises(CommandError, match="校验失败"):
        call_command("audit", "verify", stderr=io.StringIO())


@pytest.mark.django_db
def test_verify_finds_a_removed_middle_row():
    events = _chain()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    problems = audit_verify()
    # The head's count of events finds the gap too.
    assert problems == [f"#{events[3].pk}: 链断裂（前一条记录被删除或改动）", "链 0：链尾记录有 5 条，链中实有 4 条（有记录被删除）"]
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", stderr=err)
    assert f"#{events[3].pk}" in err.getvalue()


@pytest.mark.django_db
def test_verify_finds_a_removed_last_row_and_a_rewritten_hash():
    events = _chain()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    assert audit_verify() == ["链 0：链尾与最后一条记录不符（末尾记录被删除）"]
    # Re-hashing an edited row does not help: the next row still points at the old hash.
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[1].pk])
    problems = audit_verify()
    assert any(p.startswith(f"#{events[1].pk}:") for p in problems)
    assert any(p.startswith(f"#{events[2].pk}: 链断裂") for p in problems)


# --- the action fails with its audit row -----------------------------------------------


def _broken(**kwargs):
    raise DatabaseError("audit store unavailable")


def _state(teacher):
    teacher.refresh_from_db()
    return (teacher.name, teacher.title, teacher.school_id, teacher.id_cipher, teacher.subject_codes,
            teacher.updated_at)


def test_a_failing_audit_write_rolls_the_update_back(users, province, monkeypatch):
    from people import services

    teacher = province.teacher
    before = _state(teacher)
    monkeypatch.setattr(services, "audit_record", _broken)
    with pytest.raises(DatabaseError):
        services.teacher_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                                teacher=teacher, data=_data(teacher, name="不该保存", subjects=["math", "music"]))
    assert _state(teacher) == before
    assert teacher.name == "张三" and teacher.subject_codes == ["chinese"]


def test_a_failing_audit_write_fails_the_page_request(users, client_for, province, monkeypatch):
    from people import services

    teacher = province.teacher
    before = _state(teacher)
    monkeypatch.setattr(services, "audit_record", _broken)
    client = client_for(users["county_admin"])
    with pytest.raises(DatabaseError):
        client.post(f"/teachers/{teacher.pk}/edit/", _edit_form(teacher, name="不该保存"))
    with pytest.raises(DatabaseError):
        client.post(f"/teachers/{teacher.pk}/reveal-id/")
    assert _state(teacher) == before


def test_a_failing_audit_write_refuses_the_reveal(users, client_for, province, monkeypatch):
    from people import services

    monkeypatch.setattr(services, "audit_record", _broken)
    client = client_for(users["county_admin"])
    client.raise_request_exception = False
    response = client.post(f"/teachers/{province.teacher.pk}/reveal-id/")
    assert response.status_code == 500
    assert province.teacher.id_number not in response.content.decode()


# --- logs hold no full ID number -----------------------------------------------------


def test_request_logs_hold_no_full_id_number_or_password(users, client, client_for, province, caplog):
    caplog.set_level(logging.DEBUG)
    number = province.teacher.id_number
    client.post("/accounts/login/", {"username": number, "password": PASSWORD})  # an ID typed as user name
    admin = client_for(users["county_admin"])
    assert admin.get(f"/teachers/{number}/").status_code == 404  # logged with its path: "Not Found: /teachers/…/"
    admin.get("/teachers/", {"q": number})
    admin.get(f"/api/v1/teachers?q={number}")
    messages = [record.getMessage() for record in caplog.records]
    assert any("Not Found" in message and "/teachers/" in message for message in messages)  # something was logged
    text = "\n".join(messages)
    assert not FULL_ID.search(text)
    assert id_mask(number) in text  # redacted by the one masking rule, not dropped
    assert PASSWORD not in text
    for event in AuditEvent.objects.dangerously_unscoped().all():
        assert not FULL_ID.search(str(event.detail)), event.action


@pytest.mark.parametrize("logger_name", ["", "django", "django.request", "django.server", "people", "yanxiu"])
def test_every_configured_log_handler_redacts(logger_name, province):
    """Whatever logger a message goes to, what reaches a stream is redacted."""
    number = province.teacher.id_number
    logger = logging.getLogger(logger_name)
    handlers, current = [], logger
    while current is not None:
        handlers += [h for h in current.handlers if isinstance(h, logging.StreamHandler)
                     and type(h).__module__.startswith("logging")]
        current = current.parent if current.propagate else None
    assert handlers, logger_name
    streams = [io.StringIO() for _ in handlers]
    previous = [handler.setStream(stream) for handler, stream in zip(handlers, streams, strict=True)]
    try:
        logger.error('"GET /teachers/?q=%s HTTP/1.1" 200 Bearer yx_secret-token', number)
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
    for stream in streams:
        written = stream.getvalue()
        assert written and not FULL_ID.search(written) and "yx_secret-token" not in written, logger_name


# --- the audit page is scoped -----------------------------------------------------------------------


def test_audit_log_page_is_scoped(users, client_for, province):
    teacher_update(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"],
                   teacher=province.sibling_teacher, data=_data(province.sibling_teacher, title="senior"))

    def table(user) -> str:
        return client_for(user).get("/audit/").content.decode().split("<tbody>")[1]

    assert "修改教师信息" not in table(users["county_admin"])
    assert "修改教师信息" in table(users["sibling_admin"])
    assert "修改教师信息" in table(users["city_admin"])
    assert client_for(users["school_admin"]).get("/audit/").status_code == 403
    assert client_for(users["teacher"]).get("/audit/").status_code == 403
