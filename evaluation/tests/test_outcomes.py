"""Teaching-outcome import: teachers by ID number and name within the jurisdiction, upsert on
teacher + measure + year (the same file twice changes nothing), every refused row reported in
Chinese and then nothing written at all."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from access.scope import scope_for_user
from audit.models import AuditEvent
from evaluation.models import TeachingOutcome
from evaluation.outcomes import COLUMNS, NOT_MATCHED, outcome_import
from people.tests.factories import TeacherFactory, make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(province):
    ours = TeacherFactory(school=province.school, name="孙八", id_number=make_id_number(301, area="410221"))
    other = TeacherFactory(school=province.school, name="周九", id_number=make_id_number(303, area="410221"))
    theirs = TeacherFactory(school=province.sibling_school, name="吴十", id_number=make_id_number(302, area="410222"))
    return {"ours": ours, "ours_id": make_id_number(301, area="410221"), "other": other,
            "other_id": make_id_number(303, area="410221"), "theirs": theirs,
            "theirs_id": make_id_number(302, area="410222")}


def _csv(rows, header=COLUMNS) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode("utf-8"))


def _import(users, rows, who="county_admin"):
    user = users[who]
    return outcome_import(scope=scope_for_user(user), actor=user, handle=_csv(rows), name="outcomes.csv")


def _stored() -> set:
    return set(TeachingOutcome.objects.dangerously_unscoped().values_list("teacher__name", "measure", "year", "value",
                                                                          "source"))


def test_import_then_again_changes_nothing_then_updates(world, users):
    rows = [[world["ours_id"], "孙八", "课堂观察", "2025", "78.5", "县教研室"],
            [world["ours_id"], "孙八", "课堂观察", "2027", "84", "县教研室"],
            [world["other_id"], "周九", "学生增值", "2025", "0.12", ""]]
    first = _import(users, rows)
    assert (first.rows, first.created, first.updated, first.unchanged, first.rejections) == (3, 3, 0, 0, [])
    assert _stored() == {("孙八", "课堂观察", 2025, 78.5, "县教研室"), ("孙八", "课堂观察", 2027, 84.0, "县教研室"),
                         ("周九", "学生增值", 2025, 0.12, "")}
    again = _import(users, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    rows[1][4] = "86"
    changed = _import(users, rows)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    assert ("孙八", "课堂观察", 2027, 86.0, "县教研室") in _stored()
    assert TeachingOutcome.objects.dangerously_unscoped().count() == 3
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.outcome_import").count() == 3


def test_refused_rows_are_reported_and_nothing_is_written(world, users):
    rows = [[world["ours_id"], "孙八", "课堂观察", "2025", "78.5", ""],  # fine, but not written
            [world["ours_id"], "孙八错", "课堂观察", "2025", "78.5", ""],  # wrong name
            [world["theirs_id"], "吴十", "课堂观察", "2025", "70", ""],  # 通许县's teacher: outside 杞县
            ["41022119850314001X", "某某", "课堂观察", "2025", "70", ""],  # not a valid number
            [world["other_id"], "周九", "", "2025", "70", ""],
            [world["other_id"], "周九", "课堂观察", "去年", "70", ""],
            [world["other_id"], "周九", "课堂观察", "1990", "70", ""],
            [world["other_id"], "周九", "课堂观察", "2025", "优秀", ""],
            [world["ours_id"], "孙八", "课堂观察", "2025", "79", ""]]  # the first row again
    result = _import(users, rows)
    found = [(r["row"], r["column"], r["reason"]) for r in result.rejections]
    assert found[0] == (3, "身份证号", NOT_MATCHED) and found[1] == (4, "身份证号", NOT_MATCHED)
    assert found[2][:2] == (5, "身份证号")
    assert [(row, column) for row, column, _ in found[3:]] == [(6, "指标"), (7, "学年"), (8, "学年"), (9, "数值"), (10, "指标")]
    assert "学年应为四位年份" in found[4][2] and "2000—2100" in found[5][2] and "数值应为数字" in found[6][2]
    assert "文件中重复" in found[7][2]
    assert all(r["values"][0].count("*") >= 8 for r in result.rejections)  # ID numbers masked
    assert not result.written and TeachingOutcome.objects.dangerously_unscoped().count() == 0
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.outcome_import").exists()


def test_who_may_import(world, users):
    rows = [[world["theirs_id"], "吴十", "课堂观察", "2025", "70", ""]]
    assert _import(users, rows, who="city_admin").created == 1  # the city above 通许县
    with pytest.raises(PermissionDenied):
        _import(users, rows, who="school_admin")
    assert TeachingOutcome.objects.dangerously_unscoped().count() == 1


def test_upload_page_reads_excel_and_reports(world, users, client_for):
    book = Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    sheet.append([world["ours_id"], "孙八", "课堂观察", 2025, 78.5, "县教研室"])
    handle = io.BytesIO()
    book.save(handle)
    client = client_for(users["county_admin"])
    assert "身份证号、姓名、指标、学年、数值、来源" in client.get("/evaluation/outcomes/import/").content.decode()
    done = client.post("/evaluation/outcomes/import/", {"file": SimpleUploadedFile("成效.xlsx", handle.getvalue())})
    assert done.status_code == 200 and "新增 1" in done.content.decode()
    bad = client.post("/evaluation/outcomes/import/", {"file": SimpleUploadedFile("成效.csv", _csv(
        [[world["theirs_id"], "吴十", "课堂观察", "2025", "70", ""]]).getvalue())})
    assert bad.status_code == 400 and NOT_MATCHED in bad.content.decode() and "整个文件未导入" in bad.content.decode()
    missing = client.post("/evaluation/outcomes/import/", {"file": SimpleUploadedFile("x.csv", "姓名\n孙八\n".encode())})
    assert missing.status_code == 400 and "缺少列" in missing.content.decode()
    assert client_for(users["teacher"]).get("/evaluation/outcomes/import/").status_code == 403
    assert TeachingOutcome.objects.dangerously_unscoped().count() == 1


def test_api_import_reports_rejections_and_writes_nothing_on_them(world, users, client_for):
    client = client_for(users["county_admin"])
    upload = SimpleUploadedFile("成效.csv", _csv([[world["ours_id"], "孙八", "课堂观察", "2025", "78.5", ""],
                                                 [world["theirs_id"], "吴十", "课堂观察", "2025", "70", ""]]).getvalue())
    refused = client.post("/api/v1/teaching-outcomes/import", {"file": upload}).json()
    assert refused["written"] is False and [r["row"] for r in refused["rejections"]] == [3]
    assert TeachingOutcome.objects.dangerously_unscoped().count() == 0
    upload = SimpleUploadedFile("成效.csv", _csv([[world["ours_id"], "孙八", "课堂观察", "2025", "78.5", ""]]).getvalue())
    done = client.post("/api/v1/teaching-outcomes/import", {"file": upload}).json()
    assert (done["written"], done["created"]) == (True, 1)
    empty = client.post("/api/v1/teaching-outcomes/import", {"file": SimpleUploadedFile("x.csv", b"")})
    assert empty.status_code == 422 and "文件为空" in empty.json()["errors"]["file"][0]


def test_stored_outcomes_are_listed_in_scope_on_the_page_and_the_api(world, users, client_for,
                                                                      django_assert_max_num_queries):
    _import(users, [[world["ours_id"], "孙八", "课堂观察", "2025", "78.5", "县教研室"],
                    [world["other_id"], "周九", "课堂观察", "2026", "81", ""]])
    _import(users, [[world["theirs_id"], "吴十", "课堂观察", "2025", "70", ""]], who="sibling_admin")
    county = client_for(users["county_admin"])
    with django_assert_max_num_queries(12):
        page = county.get("/evaluation/outcomes/").content.decode()
    assert "孙八" in page and "周九" in page and "吴十" not in page and "2025学年「课堂观察」1条" in page
    filtered = county.get("/evaluation/outcomes/?year=2026").content.decode()
    assert "周九" in filtered and "孙八" not in filtered
    api = county.get("/api/v1/teaching-outcomes?year=2025").json()
    assert (api["count"], [r["teacher_name"] for r in api["items"]]) == (1, ["孙八"])
    assert api["items"][0]["value"] == 78.5 and api["items"][0]["source"] == "县教研室"
    city = client_for(users["city_admin"]).get("/api/v1/teaching-outcomes").json()
    assert {r["teacher_name"] for r in city["items"]} == {"孙八", "周九", "吴十"}
    school = client_for(users["school_admin"]).get("/api/v1/teaching-outcomes").json()
    assert {r["teacher_name"] for r in school["items"]} == {"孙八", "周九"}  # 杞县第一小学's own teachers
    assert client_for(users["teacher"]).get("/evaluation/outcomes/").status_code == 403
    assert client_for(users["teacher"]).get("/api/v1/teaching-outcomes").status_code == 403
