"""Hours from other platforms (issue 3 item 2): bulk import, organiser names mapped
to one institution, and the same external record never counted twice."""

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from access.scope import scope_for_user
from audit.models import AuditEvent
from credits.constants import SourceType
from credits.external_import import (
    COLUMNS,
    NOT_MATCHED,
    external_hours_import,
    organiser_map,
    organiser_normalise,
)
from credits.models import CycleTotal, ExternalImport, LedgerEntry, OrganiserAlias
from credits.services import credits_reconcile
from org.models import Institution
from people.tests.factories import TeacherFactory, make_id_number

INSTITUTE = "河南省基础教育教学研究室"


@pytest.fixture
def world(province, users):
    institute = Institution.objects.create(code="410000-JYS", name=INSTITUTE, kind="provincial_institute", division=province.province)
    OrganiserAlias.objects.create(name=organiser_normalise(INSTITUTE), institution=institute)
    ours = TeacherFactory(school=province.school, name="孙八", id_number=make_id_number(301, area="410221"))
    theirs = TeacherFactory(school=province.sibling_school, name="周九", id_number=make_id_number(302, area="410222"))
    return {"institute": institute, "ours": ours, "ours_id": make_id_number(301, area="410221"),
            "theirs": theirs, "theirs_id": make_id_number(302, area="410222")}


def _csv(rows, header=COLUMNS) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode("utf-8"))


def _row(world, *, certificate="CERT-1", hours="6", day="2026-03-05", organiser=INSTITUTE, category="网络研修",
         name="孙八", id_number=None, training="2026年暑期教师研修"):
    return [id_number or world["ours_id"], name, training, organiser, hours, category, day, certificate]


def _import(users, rows, who="county_admin", name="hours.csv"):
    return external_hours_import(scope=scope_for_user(users[who]), actor=users[who], handle=_csv(rows), name=name)


def test_rows_become_approved_external_entries_with_totals(world, users):
    result = _import(users, [_row(world), _row(world, certificate="CERT-2", hours="3.5", day="2026-04-01", category="")])
    assert (result.batch.created, result.batch.duplicates, result.batch.rejected) == (2, 0, 0)
    entries = LedgerEntry.objects.dangerously_unscoped().filter(teacher=world["ours"]).order_by("occurred_on")
    assert [(e.source_type, e.state, e.category, e.hours) for e in entries] == [
        (SourceType.EXTERNAL, "approved", "online", Decimal("6.0")), (SourceType.EXTERNAL, "approved", "online", Decimal("3.5"))]
    assert "2026年暑期教师研修" in entries[0].note and INSTITUTE in entries[0].note
    assert CycleTotal.objects.dangerously_unscoped().get(teacher=world["ours"], category="online").approved_hours == Decimal("9.5")
    assert credits_reconcile() == []
    assert AuditEvent.objects.dangerously_unscoped().filter(action="ledger.import", object_id=str(result.batch.pk)).exists()


def test_the_same_external_record_is_counted_once_whoever_imports_it(world, users):
    rows = [_row(world), _row(world, certificate="", hours="2", day="2026-05-06", training="无编号的课程")]
    _import(users, rows)
    again = _import(users, list(reversed(rows)), who="city_admin", name="another-file.csv")  # other file, order, admin
    assert (again.batch.created, again.batch.duplicates) == (0, 2)
    assert LedgerEntry.objects.dangerously_unscoped().filter(teacher=world["ours"]).count() == 2
    assert CycleTotal.objects.dangerously_unscoped().get(teacher=world["ours"], category="online").approved_hours == Decimal("8.0")
    # The same certificate number with other figures is refused, not a second entry.
    changed = _import(users, [_row(world, hours="7")])
    assert changed.batch.rejected == 1 and "不同的内容" in changed.rejections[0]["reason"]


def test_unknown_organiser_is_rejected_then_imported_after_mapping(world, users, province):
    other = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=province.county)
    row = _row(world, organiser="杞县 教师发展中心（培训部）", certificate="CERT-9")
    first = _import(users, [row])
    assert first.batch.created == 0 and first.rejections[0]["column"] == "主办单位"
    assert first.batch.unmapped_organisers == ["杞县教师发展中心（培训部）"]
    organiser_map(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], name="杞县教师发展中心(培训部)", institution_id=other.pk, may_replace=False)
    second = _import(users, [row])
    assert second.batch.created == 1 and LedgerEntry.objects.dangerously_unscoped().filter(source_id="national:CERT-9").exists()


def test_organiser_names_normalise_full_width_and_spaces():
    assert organiser_normalise("河南省 基础教育\u3000教学研究室") == organiser_normalise("河南省基础教育教学研究室")
    assert organiser_normalise("ＡＢＣ(一)") == "ABC（一）"


def test_only_the_province_changes_an_existing_mapping(world, users, province):
    other = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=province.county)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        organiser_map(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], name=INSTITUTE, institution_id=other.pk, may_replace=False)
    organiser_map(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], name=INSTITUTE, institution_id=other.pk, may_replace=True)
    assert OrganiserAlias.objects.get(name=organiser_normalise(INSTITUTE)).institution == other
    assert AuditEvent.objects.dangerously_unscoped().filter(action="credits.organiser_map").count() == 1


@pytest.mark.parametrize(("change", "column", "reason"), [
    ({"id_number": "410221198503140000"}, "身份证号", ""),
    ({"name": "孙七"}, "身份证号", NOT_MATCHED),
    ({"hours": "-3"}, "学时", "大于0"),
    ({"hours": "30"}, "学时", "12"),
    ({"hours": "abc"}, "学时", "数字"),
    ({"day": "2019-06-01"}, "完成日期", "周期"),
    ({"day": "2026-13-40"}, "完成日期", "YYYY-MM-DD"),
    ({"category": "打麻将"}, "类别", "未知的学时类别"),
])
def test_bad_rows_are_rejected_with_a_reason_and_write_nothing(world, users, change, column, reason):
    result = _import(users, [_row(world, **change)])
    assert result.batch.created == 0 and len(result.rejections) == 1
    assert result.rejections[0]["column"] == column and reason in result.rejections[0]["reason"]
    assert result.rejections[0]["row"] == 2
    assert not LedgerEntry.objects.dangerously_unscoped().exists() and not CycleTotal.objects.dangerously_unscoped().exists()


def test_a_teacher_outside_the_importers_county_is_not_revealed(world, users):
    outside = _import(users, [_row(world, id_number=world["theirs_id"], name="周九")])
    unknown = _import(users, [_row(world, id_number=make_id_number(999, area="410221"), name="无名")])
    assert outside.rejections[0]["reason"] == unknown.rejections[0]["reason"] == NOT_MATCHED
    assert not LedgerEntry.objects.dangerously_unscoped().exists()


def test_a_file_of_guessed_numbers_does_not_tell_which_exist(world, users):
    """A number on the roster with a guessed name is refused exactly as a number that is not there:
    the same reason in the same column, so rejections do not sort real numbers from made-up ones."""
    rows = [_row(world, name="随便写", certificate="G-1"),  # a real number of this county, wrong name
            _row(world, id_number=make_id_number(998, area="410221"), name="随便写", certificate="G-2")]  # no such teacher
    result = _import(users, rows)
    assert [(r["column"], r["reason"]) for r in result.rejections] == [("身份证号", NOT_MATCHED)] * 2
    assert NOT_MATCHED == "身份证号与姓名在本辖区教师名册中未能对应"
    assert not LedgerEntry.objects.dangerously_unscoped().exists()


def test_the_same_certificate_number_of_two_teachers_is_two_records(world, users):
    """A certificate number imported first by one county does not block another county's teacher
    with the same number; the same teacher's certificate is still recorded once."""
    first = _import(users, [_row(world, certificate="NP-2026-7")])
    other = _import(users, [_row(world, certificate="NP-2026-7", id_number=world["theirs_id"], name="周九")],
                    who="sibling_admin")
    assert (first.batch.created, other.batch.created, other.batch.rejected) == (1, 1, 0)
    assert {e.teacher_id for e in LedgerEntry.objects.dangerously_unscoped().filter(source_id="national:NP-2026-7")} == {
        world["ours"].pk, world["theirs"].pk}
    again = _import(users, [_row(world, certificate="NP-2026-7", id_number=world["theirs_id"], name="周九")],
                    who="sibling_admin", name="again.csv")
    assert (again.batch.created, again.batch.duplicates) == (0, 1)


def test_xlsx_files_with_excel_dates_are_read(world, users):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    sheet.append([world["ours_id"], "孙八", "线上课程", INSTITUTE, 4, "校本研修", dt.date(2026, 6, 1), "X-1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    result = external_hours_import(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                                   handle=buffer, name="hours.xlsx")
    assert result.batch.created == 1
    assert LedgerEntry.objects.dangerously_unscoped().get(source_id="national:X-1").category == "school_based"


def test_a_file_missing_columns_is_refused_whole(world, users):
    from people.roster.files import RosterFileError

    with pytest.raises(RosterFileError, match="缺少列"):
        external_hours_import(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                              handle=_csv([["x"]], header=["身份证号", "姓名"]), name="bad.csv")
    assert not ExternalImport.objects.dangerously_unscoped().exists()


# --- pages and command ------------------------------------------------------------------


def test_upload_page_reports_and_offers_the_rejections(world, users, client_for):
    client = client_for(users["county_admin"])
    upload = SimpleUploadedFile("hours.csv", _csv([_row(world), _row(world, certificate="C-3", name="错名")]).getvalue())
    response = client.post("/credits/external/", {"file": upload})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'id="created">1<' in page and 'id="rejected">1<' in page and NOT_MATCHED in page
    download = client.get(response["Location"] + "?format=xlsx")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert client_for(users["sibling_admin"]).get(response["Location"]).status_code == 404  # someone else's import


@pytest.mark.parametrize(("who", "status"), [("teacher", 403), ("school_admin", 403), ("county_admin", 200)])
def test_import_pages_are_for_division_administrators(users, client_for, who, status):
    assert client_for(users[who]).get("/credits/external/").status_code == status
    assert client_for(users[who]).get("/credits/organisers/").status_code == status


def test_organiser_page_lists_unmapped_names_and_maps_them(world, users, client_for, province):
    other = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=province.county)
    _import(users, [_row(world, organiser="某某培训公司")])
    client = client_for(users["county_admin"])
    assert "某某培训公司" in client.get("/credits/organisers/").content.decode()
    assert client.post("/credits/organisers/", {"name": "某某培训公司", "institution": other.pk}).status_code == 302
    assert OrganiserAlias.objects.get(name="某某培训公司").institution == other
    assert "没有待对应的主办单位" in client.get("/credits/organisers/").content.decode()


def test_command_prints_a_report_and_fails_on_rejections(world, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(_csv([_row(world)]).getvalue())
    bad.write_bytes(_csv([_row(world, certificate="B-1", hours="99")]).getvalue())
    from django.core.management import call_command

    out = io.StringIO()
    call_command("credits", "import-external", str(good), stdout=out)
    assert json.loads(out.getvalue())["created"] == 1
    with pytest.raises(SystemExit) as exit_info:
        call_command("credits", "import-external", str(bad), stdout=io.StringIO())
    assert exit_info.value.code == 1


def test_command_help_names_the_operation():
    output = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[2] / "manage.py"), "credits", "--help"],
                            capture_output=True, text=True, check=True).stdout
    assert "import-external" in output


def test_api_imports_a_file_and_reports_like_the_page(world, users, client_for):
    client = client_for(users["county_admin"])
    body = client.post("/api/v1/credits/external-imports",
                       {"file": SimpleUploadedFile("h.csv", _csv([_row(world), _row(world, certificate="Z", name="错")]).getvalue())})
    assert body.status_code == 201
    report = body.json()
    assert (report["created"], report["rejected"]) == (1, 1) and report["rejections"][0]["column"] == "身份证号"
    again = client.post("/api/v1/credits/external-imports", {"file": SimpleUploadedFile("h2.csv", _csv([_row(world)]).getvalue())})
    assert again.json()["duplicates"] == 1
    broken = client.post("/api/v1/credits/external-imports", {"file": SimpleUploadedFile("h.exe", b"MZ\x90")})
    assert broken.status_code == 400 and broken.json()["code"] == "bad_file"
    school = client_for(users["school_admin"]).post("/api/v1/credits/external-imports",
                                                    {"file": SimpleUploadedFile("h.csv", _csv([_row(world)]).getvalue())})
    assert school.status_code == 403


def test_a_large_upload_is_imported_in_the_background(world, users, client_for, settings, django_capture_on_commit_callbacks):
    settings.ROSTER_INLINE_MAX_BYTES = 10  # every file is "large"; Celery is eager in tests
    client = client_for(users["county_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/credits/external/", {"file": SimpleUploadedFile("big.csv", _csv([_row(world)]).getvalue())})
    assert response.status_code == 302 and response["Location"] == "/credits/external/"
    batch = ExternalImport.objects.dangerously_unscoped().get()
    assert (batch.file_name, batch.created, batch.actor) == ("big.csv", 1, users["county_admin"])
    assert not list((Path(settings.MEDIA_ROOT) / "imports").iterdir())  # the stored upload is gone


def test_rejections_keep_the_id_number_masked_and_the_columns_in_order(world, users, client_for):
    from people.identity import id_mask
    from people.roster.files import iter_rows

    header = list(reversed(COLUMNS))  # another platform's column order
    bad = _row(world, certificate="R-1", name="错名")
    response = client_for(users["county_admin"]).post(
        "/credits/external/", {"file": SimpleUploadedFile("r.csv", _csv([list(reversed(bad))], header=header).getvalue())})
    batch = ExternalImport.objects.dangerously_unscoped().get()
    assert batch.rejections[0]["values"] == [id_mask(world["ours_id"]), *bad[1:]]
    assert world["ours_id"] not in json.dumps(batch.rejections, ensure_ascii=False)
    download = client_for(users["county_admin"]).get(response["Location"] + "?format=xlsx")
    rows = list(iter_rows(io.BytesIO(b"".join(download.streaming_content)), "errors.xlsx"))
    assert rows[2][:3] == ["行号", "列", "原因"]
    assert rows[3][3:] == batch.rejections[0]["values"] and world["ours_id"] not in repr(rows)
