"""A file the readers cannot read (a cell over the csv module's field limit, a damaged
zip directory, bad bytes or too many rows late in the file) is a bad file on every route
that takes one: the form with the reason, or a 4xx JSON error, never a 500; a roster
batch ends "failed" with the reason; and nothing of the file is written."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from access.scope import scope_for_user
from catalog.attendance import session_add
from catalog.models import Attendance
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from credits.external_import import COLUMNS as EXTERNAL_COLUMNS
from credits.models import ExternalImport, LedgerEntry
from institutions.tests.helpers import accredited_institution
from people.models import ImportBatch, Teacher
from people.roster.columns import COLUMNS as ROSTER_COLUMNS
from people.tests.factories import make_id_number

HUGE = "长" * 131_073  # one over csv.field_size_limit()'s default
REASON = "单元格内容过长"


def _csv(header: list[str], good: list, bad_at: int) -> bytes:
    """A header, one good row, then the same row with one cell too long."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerow(good)
    writer.writerow([HUGE if index == bad_at else value for index, value in enumerate(good)])
    return text.getvalue().encode("utf-8-sig")


@pytest.fixture
def running(province, users):
    admin = users["county_admin"]
    project = publish(project_create(institution=accredited_institution(),
        scope=scope_for_user(admin), actor=admin, code="QX-U-1", title="杞县上传测试", level="county", category="backbone",
        mode="centralised", organiser=province.county, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 3),
        seats=3, hours=12, hour_category="centralised", self_enrolment=True, needs_approval=False))
    session_add(scope=scope_for_user(admin), project=project, title="第一天", held_on=dt.date(2026, 11, 2))
    enrolment = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    return project, enrolment


def _roster_file(province, running) -> bytes:
    good = ["", "冯一", make_id_number(901, area="410221"), province.school.code, "小学", "语文", "一级教师",
            "2012-09-01", "在岗", ""]
    return _csv(ROSTER_COLUMNS, good, bad_at=1)


def _external_file(province, running) -> bytes:
    good = [province.teacher.id_number, "张三", "暑期研修", "河南省基础教育教学研究室", "6", "网络研修", "2026-03-05", "C-1"]
    return _csv(EXTERNAL_COLUMNS, good, bad_at=2)


def _attendance_file(province, running) -> bytes:
    _, enrolment = running
    return _csv(["报名编号", "姓名", "场次序号"], [enrolment.pk, "张三", "1"], bad_at=1)


def _written() -> dict:
    return {
        "teachers": Teacher.objects.dangerously_unscoped().count(),
        "external_imports": ExternalImport.objects.dangerously_unscoped().count(),
        "ledger": LedgerEntry.objects.dangerously_unscoped().count(),
        "attendance": Attendance.objects.dangerously_unscoped().count(),
    }


# route: (url, extra form fields, file, the route's usual answer to a bad file)
ROUTES = {
    "roster_page": (lambda project: "/teachers/roster/import/", {}, _roster_file, 200),  # the form, with the error
    "external_page": (lambda project: "/credits/external/", {}, _external_file, 400),
    "external_api": (lambda project: "/api/v1/credits/external-imports", {}, _external_file, 400),
    # The manage page answers every action with a redirect and shows the error as a message.
    "attendance_page": (lambda project: f"/projects/{project.pk}/manage/", {"action": "upload"}, _attendance_file, 200),
    "attendance_api": (lambda project: f"/api/v1/projects/{project.pk}/attendance-upload", {}, _attendance_file, 422),
}


@pytest.mark.parametrize("route", ROUTES)
def test_an_oversized_cell_is_a_bad_file_on_every_upload_route(province, users, client_for, running, route):
    url, fields, build, status = ROUTES[route]
    project, _ = running
    client = client_for(users["county_admin"])
    before = _written()
    upload = SimpleUploadedFile("名单.csv", build(province, running), content_type="text/csv")
    response = client.post(url(project), {**fields, "file": upload}, follow=route == "attendance_page")
    assert response.status_code == status
    if route.endswith("_api"):
        body = response.json()
        assert body["code"] in ("bad_file", "invalid")
        assert REASON in json.dumps(body, ensure_ascii=False)
    else:
        assert REASON in response.content.decode()
    assert _written() == before
    if route == "roster_page":
        batch = ImportBatch.objects.dangerously_unscoped().get(actor=users["county_admin"])
        assert batch.state == ImportBatch.State.FAILED and REASON in batch.error


def test_the_background_roster_import_fails_the_batch_with_the_reason(province, users, running, settings):
    from people.roster.files import store_upload
    from people.tasks import roster_import_task

    upload = SimpleUploadedFile("名单.csv", _roster_file(province, running))
    path = store_upload(upload)
    before = _written()
    result = roster_import_task(upload_path=str(path), file_name="名单.csv", actor_id=users["county_admin"].pk)
    assert REASON in result["error"]
    batch = ImportBatch.objects.dangerously_unscoped().get()
    assert batch.state == ImportBatch.State.FAILED and REASON in batch.error
    assert _written() == before and not path.exists()


def test_the_cli_roster_import_says_why(province, running, tmp_path):
    path = tmp_path / "名单.csv"
    path.write_bytes(_roster_file(province, running))
    before = _written()
    with pytest.raises(CommandError, match=REASON):
        call_command("roster", "import", str(path))
    assert ImportBatch.objects.dangerously_unscoped().get().state == ImportBatch.State.FAILED
    assert _written() == before


# --- the readers themselves ------------------------------------------------------------------


def _xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(ROSTER_COLUMNS)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _central_entry(content: bytes, edit) -> bytes:
    """The .xlsx with its first central-directory entry changed by `edit(bytearray, offset)`."""
    data = bytearray(content)
    edit(data, data.index(b"PK\x01\x02"))
    return bytes(data)


def _future_zip_version(data: bytearray, at: int) -> None:
    data[at + 6:at + 8] = (255).to_bytes(2, "little")  # "version needed to extract": 25.5


def _bad_utf8_member_name(data: bytearray, at: int) -> None:
    data[at + 9] |= 0x08  # names are UTF-8 ...
    data[at + 46] = 0xFF  # ... but this one is not


LATE = {
    "oversized_cell": (lambda: _csv(["a", "b"], ["1", "2"], bad_at=1), "x.csv", REASON),
    "bad_encoding_after_the_sniffed_part": (
        lambda: b"a,b\n1," + b"2" * 70_000 + b"\xff\xfe\n", "x.csv", "编码无法识别"),
    "too_many_rows": (lambda: b"a,b\n" + b"1,2\n" * 6, "x.csv", "行数超过上限 5"),
    "too_many_xlsx_rows": (lambda: _xlsx_rows(7), "x.xlsx", "行数超过上限 5"),
}


def _xlsx_rows(count: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    for number in range(count):
        workbook.active.append([number, "张三"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("case", LATE)
def test_a_file_unreadable_anywhere_fails_before_its_first_row(settings, case):
    """So a caller that reads the header inside `try` and the rest outside it (the attendance
    upload) still gets RosterFileError where it handles it."""
    from people.roster.files import RosterFileError, iter_rows

    settings.IMPORT_MAX_ROWS = 5
    build, name, reason = LATE[case]
    rows = iter_rows(io.BytesIO(build()), name)
    with pytest.raises(RosterFileError, match=reason):
        next(rows)


@pytest.mark.parametrize("damage", [_future_zip_version, _bad_utf8_member_name])
def test_a_damaged_zip_directory_is_a_bad_file(damage):
    from people.roster.files import RosterFileError, iter_rows

    with pytest.raises(RosterFileError, match="Excel 文件已损坏"):
        list(iter_rows(io.BytesIO(_central_entry(_xlsx(), damage)), "x.xlsx"))


def test_a_damaged_zip_directory_on_the_roster_page_is_a_form_error(users, client_for):
    upload = SimpleUploadedFile("名单.xlsx", _central_entry(_xlsx(), _future_zip_version))
    response = client_for(users["county_admin"]).post("/teachers/roster/import/", {"file": upload})
    assert response.status_code == 200 and "Excel 文件已损坏" in response.content.decode()
    batch = ImportBatch.objects.dangerously_unscoped().get()
    assert batch.state == ImportBatch.State.FAILED and "已损坏" in batch.error
