"""Roster export: scoped, masked, audited with its row count, formula
cells neutralised; export and import share one format, so both the operator's
full-ID export and an administrator's masked page export import back."""

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from audit.models import AuditEvent
from people.identity import id_mask
from people.models import ImportBatch, Teacher, TeacherHonour
from people.roster.columns import COLUMNS
from people.tests.factories import TeacherFactory
from people.tests.helpers import cli_roster_import

ID_PATTERN = r"\d{17}[\dX]"
FORMULA_NAMES = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)"]


def _page_export(client, kind: str) -> list[list[str]]:
    response = client.get(f"/teachers/roster/export/?format={kind}")
    assert response.status_code == 200
    if kind == "csv":
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = [["" if cell is None else str(cell) for cell in values] for values in sheet.iter_rows(values_only=True)]
    assert rows[0][0].endswith("教师名册") and rows[1][0].startswith("范围：")  # the report's title lines
    return rows[2:]



@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_county_page_export_is_scoped_masked_audited_and_formula_safe(province, users, client_for, kind):
    for name in FORMULA_NAMES:
        TeacherFactory(school=province.school, name=name)
    TeacherFactory(school=province.sibling_school, name="=outside")
    client = client_for(users["county_admin"])

    rows = _page_export(client, kind)

    assert rows[0] == COLUMNS
    body = rows[1:]
    in_county = Teacher.objects.dangerously_unscoped().filter(division_path=province.county.path)
    assert sorted(int(r[0]) for r in body) == sorted(in_county.values_list("pk", flat=True))
    assert len(body) == 5
    assert {r[3] for r in body} == {province.school.code}
    by_pk = {t.pk: t for t in in_county}
    for values in body:
        teacher = by_pk[int(values[0])]
        assert values[2] == id_mask(teacher.id_number) and "*" * 14 in values[2]
    assert not any(re.search(ID_PATTERN, cell) for values in body for cell in values)
    names = {r[1] for r in body}
    assert names == {"张三", *("'" + name for name in FORMULA_NAMES)}

    event = AuditEvent.objects.dangerously_unscoped().get(action="roster.export")
    assert event.actor_id == users["county_admin"].pk and event.scope_path == province.county.path
    assert event.detail["rows"] == 5 and event.detail["full_ids"] is False and event.detail["format"] == kind


def _enrich(province) -> None:
    """Several subjects, honours, other titles and a status, so the round trip covers every column."""
    rich = TeacherFactory(school=province.school, name="=HYPERLINK(\"x\")", title="full_senior", status="leave",
                          subjects=["math", "physics", "it"])
    TeacherHonour.objects.create(teacher=rich, title="backbone", level="province", awarded_on=dt.date(2021, 9, 1),
                                 expires_on=dt.date(2026, 8, 31))
    TeacherHonour.objects.create(teacher=rich, title="chief_teacher", level="county", awarded_on=dt.date(2019, 5, 1))
    TeacherFactory(school=province.direct_school, name="陈七", title="none", stage="kindergarten", subjects=["preschool"])


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_cli_full_id_export_imports_back_unchanged(province, tmp_path, capsys, kind):
    _enrich(province)
    before = {t.pk: (t.name, t.title, t.status, t.subject_codes, t.updated_at) for t in Teacher.objects.dangerously_unscoped().all()}
    target = tmp_path / f"roster.{kind}"

    call_command("roster", "export", "--division", "410000", str(target))
    assert "已导出 6 人" in capsys.readouterr().out
    code, report = cli_roster_import(target, capsys)

    assert code == 0
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (0, 0, 6, 0)
    after = {t.pk: (t.name, t.title, t.status, t.subject_codes, t.updated_at) for t in Teacher.objects.dangerously_unscoped().all()}
    assert after == before
    export = AuditEvent.objects.dangerously_unscoped().get(action="roster.export")
    assert export.actor_id is None and export.detail["full_ids"] is True and export.detail["rows"] == 6
    assert export.detail["channel"] == "cli"


def test_masked_page_export_edited_and_imported_back_updates_by_number(province, users, client_for):
    _enrich(province)
    client = client_for(users["county_admin"])
    rows = _page_export(client, "csv")
    header, body = rows[0], rows[1:]
    target = next(r for r in body if r[1] == "张三")
    target[6] = "高级教师"  # the edit made in Excel
    rich = next(r for r in body if r[1].endswith('HYPERLINK("x")'))
    assert rich[1].startswith("'=")  # formula-guarded in the file, restored on import
    stored = Teacher.objects.dangerously_unscoped().get(pk=province.teacher.pk)
    cipher, index = stored.id_cipher, stored.id_index
    # Rows that must be refused: a forged mask, a teacher of another county, no 编号.
    sibling = province.sibling_teacher
    # (A mask unlike 张三's: two teachers' masks coincide one time in eleven.)
    own_mask = id_mask(province.teacher.id_number)
    forged_mask = own_mask[:-1] + ("0" if own_mask[-1] != "0" else "1")
    forged = [str(province.teacher.pk), "张三", forged_mask, *target[3:]]
    outside = [str(sibling.pk), sibling.name, id_mask(sibling.id_number), *target[3:]]
    unnumbered = ["", "无号", target[2], *target[3:]]
    edited = io.StringIO()
    csv.writer(edited).writerows([header, *body, forged, outside, unnumbered])

    response = client.post("/teachers/roster/import/", {
        "file": SimpleUploadedFile("edited.csv", edited.getvalue().encode("utf-8-sig"), "text/csv"),
    }, follow=True)

    assert response.status_code == 200
    batch = ImportBatch.objects.dangerously_unscoped().get(actor=users["county_admin"])
    assert (batch.created, batch.updated, batch.unchanged, batch.rejected) == (0, 1, 1, 3)
    rejections = {r.row_number: (r.column, r.reason) for r in batch.rejections.all()}
    first_extra = len(body) + 2
    assert rejections == {
        first_extra: ("身份证号", f"脱敏身份证号与编号 {province.teacher.pk} 的教师不一致"),
        first_extra + 1: ("编号", f"编号 {sibling.pk} 不存在或不在本辖区"),
        first_extra + 2: ("编号", "身份证号为脱敏值时，须填写编号"),
    }
    stored.refresh_from_db()
    assert stored.title == "senior"
    assert (stored.id_cipher, stored.id_index) == (cipher, index)  # the stored number is kept
    assert Teacher.objects.dangerously_unscoped().filter(name='=HYPERLINK("x")').count() == 1
    sibling.refresh_from_db()
    assert sibling.name == "李四"
    update = AuditEvent.objects.dangerously_unscoped().get(action="teacher.update", object_id=str(stored.pk))
    assert update.detail["changed"] == {"title": {"before": "first", "after": "senior"}}


def test_cli_import_with_rejections_exits_non_zero_with_json_and_unknown_division_fails(province, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerow(["", "好", "11010519491231002X", province.school.code, "小学", "语文", "", "1975-09-01", "", ""])
        writer.writerow(["", "坏", "110105194912310021", province.school.code, "小学", "语文", "", "1975-09-01", "", ""])
    code, report = cli_roster_import(path, capsys)
    assert code == 1
    assert (report["created"], report["rejected"]) == (1, 1)
    assert report["rejections"][0] == {"row_number": 3, "column": "身份证号", "reason": "身份证号校验码错误",
                                       "values": ["", "坏", "110**************1", province.school.code, "小学", "语文",
                                                  "", "1975-09-01", "", ""]}
    with pytest.raises(CommandError, match="区划代码不存在"):
        call_command("roster", "export", "--division", "419999", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()
