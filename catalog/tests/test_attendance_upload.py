"""Attendance by upload: export the sheet, tick it, send it back; bad rows come back with
reasons while good rows are recorded; the same sheet twice records nothing new."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.attendance import session_add
from catalog.models import Attendance, Enrolment
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory


@pytest.fixture
def running(province, users):
    admin = users["county_admin"]
    project = publish(project_create(institution=accredited_institution(),
        scope=scope_for_user(admin), actor=admin, code="QX-A-1", title="杞县班主任研修", level="county", category="backbone",
        mode="centralised", organiser=province.county, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 4),
        seats=3, hours=12, hour_category="centralised", self_enrolment=True, needs_approval=False))
    sessions = [session_add(scope=scope_for_user(admin), project=project, title=f"第{d}天",
                            held_on=dt.date(2026, 11, d)) for d in (2, 3)]
    teachers = [province.teacher, *(TeacherFactory(school=province.school, name=n) for n in ("周一", "吴二", "郑三"))]
    enrolments = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in teachers]
    assert [e.state for e in enrolments] == ["enrolled", "enrolled", "enrolled", "waiting"]
    return project, sessions, enrolments


def _exported(client, project) -> Workbook:
    response = client.get(f"/projects/{project.pk}/manage/?format=xlsx")
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def _upload(client, project, workbook: Workbook, name="考勤.xlsx"):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return client.post(f"/projects/{project.pk}/manage/",
                       {"action": "upload", "file": SimpleUploadedFile(name, buffer.getvalue())}, follow=True)


def test_the_exported_sheet_comes_back_as_attendance(users, client_for, running):
    project, sessions, enrolments = running
    client = client_for(users["county_admin"])
    workbook = _exported(client, project)
    sheet = workbook.active
    assert sheet["A1"].value.endswith("报名与考勤")  # the title and the scope line above the header
    header = [cell.value for cell in sheet[3]]
    assert header[:2] == ["报名编号", "姓名"] and header[4].startswith("第1场") and header[5].startswith("第2场")
    by_id = {row[0].value: row for row in sheet.iter_rows(min_row=4)}
    by_id[enrolments[0].pk][4].value = "出勤"
    by_id[enrolments[0].pk][5].value = "√"
    by_id[enrolments[1].pk][4].value = "出勤"
    response = _upload(client, project, workbook)
    assert "新记录出勤 3 人次" in response.content.decode()
    assert set(Attendance.objects.dangerously_unscoped().values_list("session_id", "enrolment_id")) == {
        (sessions[0].pk, enrolments[0].pk), (sessions[1].pk, enrolments[0].pk), (sessions[0].pk, enrolments[1].pk)}
    assert set(Attendance.objects.dangerously_unscoped().values_list("method", flat=True)) == {"upload"}
    again = _upload(client, project, workbook)
    assert "新记录出勤 0 人次，此前已记录 3 人次" in again.content.decode()
    assert Attendance.objects.dangerously_unscoped().count() == 3
    assert AuditEvent.objects.dangerously_unscoped().filter(action="catalog.attendance_upload").count() == 2


def test_bad_rows_are_reported_and_good_rows_recorded(users, client_for, running):
    project, sessions, enrolments = running
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["报名编号", "姓名", "第1场 11-02", "第2场 11-03"])
    sheet.append([enrolments[0].pk, "张三", "出勤", ""])  # good
    sheet.append([enrolments[1].pk, "冒名", "出勤", ""])  # name does not match
    sheet.append([enrolments[3].pk, "郑三", "出勤", ""])  # waiting, not admitted
    sheet.append([999999, "无名", "出勤", ""])  # not an enrolment of this project
    sheet.append([enrolments[2].pk, "吴二", "迟到", ""])  # unknown mark
    sheet.append([enrolments[3].pk, "郑三", "", ""])  # nothing ticked: nothing asked
    response = _upload(client_for(users["county_admin"]), project, workbook).content.decode()
    assert "新记录出勤 1 人次" in response and "未记录 4 处" in response
    for reason in ("第3行 姓名", "第4行 报名编号", "候补", "第5行 报名编号", "第6行 第1场 11-02"):
        assert reason in response, reason
    assert list(Attendance.objects.dangerously_unscoped().values_list("enrolment_id", flat=True)) == [enrolments[0].pk]


def test_a_sheet_naming_a_missing_session_is_refused_whole(users, client_for, running):
    project, _, enrolments = running
    workbook = Workbook()
    workbook.active.append(["报名编号", "姓名", "第1场", "第9场"])
    workbook.active.append([enrolments[0].pk, "张三", "出勤", "出勤"])
    response = _upload(client_for(users["county_admin"]), project, workbook).content.decode()
    assert "第9场不存在" in response and not Attendance.objects.dangerously_unscoped().exists()


def test_the_api_takes_a_long_csv_and_outsiders_get_404(users, client_for, running):
    project, sessions, enrolments = running
    rows = ["报名编号,姓名,场次序号", f"{enrolments[1].pk},周一,2", f"{enrolments[2].pk},吴二,7"]
    upload = SimpleUploadedFile("a.csv", "\n".join(rows).encode("utf-8-sig"))
    response = client_for(users["county_admin"]).post(f"/api/v1/projects/{project.pk}/attendance-upload", {"file": upload})
    assert response.status_code == 200
    body = response.json()
    assert (body["rows"], body["recorded"], body["already"]) == (2, 1, 0)
    assert body["refused"] == [{"row": 3, "column": "场次序号", "reason": "场次“7”不存在"}]
    assert Attendance.objects.dangerously_unscoped().get().enrolment_id == enrolments[1].pk
    for who in ("sibling_admin", "other_city_admin"):
        upload = SimpleUploadedFile("a.csv", "\n".join(rows).encode("utf-8-sig"))
        client = client_for(users[who])
        # The published project is seen by all (403), run only by its organiser and implementer.
        assert client.post(f"/api/v1/projects/{project.pk}/attendance-upload", {"file": upload}).status_code == 403
        upload.seek(0)
        assert client.post(f"/projects/{project.pk}/manage/", {"action": "upload", "file": upload}).status_code == 403
    assert Attendance.objects.dangerously_unscoped().count() == 1 and Enrolment.objects.dangerously_unscoped().count() == 4


def test_every_row_must_name_the_teacher(users, client_for, running):
    """The name is the cross-check on the enrolment number: a blank one is refused, and a sheet
    without the 姓名 column is refused whole."""
    project, _, enrolments = running
    client = client_for(users["county_admin"])
    workbook = Workbook()
    workbook.active.append(["报名编号", "姓名", "第1场"])
    workbook.active.append([enrolments[0].pk, "", "出勤"])
    response = _upload(client, project, workbook).content.decode()
    assert "第2行 姓名：请填写姓名" in response and not Attendance.objects.dangerously_unscoped().exists()
    workbook = Workbook()
    workbook.active.append(["报名编号", "第1场"])
    workbook.active.append([enrolments[0].pk, "出勤"])
    assert "缺少“报名编号”或“姓名”列" in _upload(client, project, workbook).content.decode()
    assert not Attendance.objects.dangerously_unscoped().exists()


def test_a_withdrawal_while_the_sheet_is_read_is_refused_under_the_lock(users, running, monkeypatch):
    from catalog import attendance_upload as module

    project, sessions, enrolments = running
    admin = users["county_admin"]
    matched = module._enrolment

    def withdrawn_meanwhile(*args, **kwargs):
        enrolment = matched(*args, **kwargs)
        if enrolment is not None and enrolment.pk == enrolments[1].pk:
            Enrolment.objects.dangerously_unscoped().filter(pk=enrolment.pk).update(state="withdrawn")
        return enrolment

    monkeypatch.setattr(module, "_enrolment", withdrawn_meanwhile)
    rows = ["报名编号,姓名,场次序号", f"{enrolments[0].pk},张三,1", f"{enrolments[1].pk},周一,1"]
    report = module.attendance_upload(user=admin, scope=scope_for_user(admin), project=project,
                                      handle=io.BytesIO("\n".join(rows).encode()), name="a.csv", ip="10.0.0.9")
    assert (report.recorded, [r["row"] for r in report.refused]) == (1, [3])
    assert list(Attendance.objects.dangerously_unscoped().values_list("enrolment_id", flat=True)) == [enrolments[0].pk]
    event = AuditEvent.objects.dangerously_unscoped().get(action="catalog.attendance_upload")
    assert (event.actor, event.ip, event.detail["recorded"], event.detail["refused"]) == (admin, "10.0.0.9", 1, 1)
