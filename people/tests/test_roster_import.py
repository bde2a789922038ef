"""Roster import: every bad row reported (row, column, Chinese reason), good rows
committed, idempotent re-import, encodings, crash safety and the
malicious-file corpus."""

import csv
import datetime as dt
import hashlib
import io
import time
import zipfile
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from access.scope import Scope, scope_for_user
from audit.models import AuditEvent
from people.identity import id_check_character
from people.models import ImportBatch, ImportRejection, Teacher, TeacherHonour, TeacherSubject
from people.roster import importer as importer_module
from people.roster.columns import COLUMNS
from people.roster.files import RosterFileError
from people.roster.importer import RosterImporter
from people.services import ID_TAKEN_MESSAGE
from people.tests.factories import TeacherFactory, make_id_number

pytestmark = pytest.mark.django_db


def row(name, number, school, *, no="", stage="小学", subjects="语文", title="一级教师", hire="2012-09-01",
        status="在岗", honours=""):
    return [no, name, number, school, stage, subjects, title, hire, status, honours]


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    for values in rows:
        sheet.append(values)
    handle = io.BytesIO()
    workbook.save(handle)
    return handle.getvalue()


def run_import(scope, content: bytes, name="roster.csv", actor=None):
    return RosterImporter(scope=scope, actor=actor).run(io.BytesIO(content), name)


def province_scope(province) -> Scope:
    return Scope.division(province.province)


def new_id(seq: int, area="410221") -> str:
    return make_id_number(seq, area=area)


def table_digest() -> str:
    """Teacher, subject and honour tables, independent of primary keys and ciphertext nonces."""
    teachers = sorted(
        (t.id_number, t.name, t.school.code, t.division_path, t.stage, t.title, str(t.hire_date), t.status,
         str(t.birth_date), t.sex)
        for t in Teacher.objects.dangerously_unscoped().select_related("school")
    )
    subjects = sorted((s.teacher.id_index, s.subject, s.is_main) for s in TeacherSubject.objects.dangerously_unscoped().select_related("teacher"))
    honours = sorted(
        (h.teacher.id_index, h.title, h.level, str(h.awarded_on), str(h.expires_on))
        for h in TeacherHonour.objects.dangerously_unscoped().select_related("teacher")
    )
    return hashlib.sha256(repr((teachers, subjects, honours)).encode()).hexdigest()


def reasons(report) -> dict[int, tuple[str, str]]:
    return {r.row_number: (r.column, r.reason) for r in report.rejections}


# --- each rejection reason, with its row number and column ------------------------------------


def test_each_bad_row_is_reported_with_row_column_and_reason(province, users):
    school, existing = province.school.code, province.teacher
    good, good2 = new_id(11), new_id(12)
    bad_checksum = new_id(13)[:17] + ("0" if new_id(13)[17] != "0" else "1")
    rows = [
        row("钱一", good, school),  # 2: good
        row("钱二", bad_checksum, school),  # 3
        row("钱三", new_id(14), "9999999999"),  # 4: unknown school
        row("钱四", new_id(15), province.sibling_school.code),  # 5: 通许, outside 杞县's scope
        row("钱一重", good, school),  # 6: duplicate of row 2
        row("钱五", new_id(16), school, hire="2099-09-01"),  # 7: hire date in the future
        row("钱六", new_id(17), school, hire="1995-09-01"),  # 8: born 1985, hired at 10
        row("钱七", new_id(18), school, stage="大学"),  # 9
        row("钱八", new_id(19), school, title="教授"),  # 10
        row("钱九", new_id(20), school, subjects="语文、炼丹"),  # 11
        row("钱十", new_id(21), school, honours="省级骨干教师2021"),  # 12: malformed honour
        row("孙一", new_id(22), school, honours="省级骨干教师(2021-09-01~2020-08-31)"),  # 13: dates out of order
        row("孙二", new_id(23), school, no=str(existing.pk)),  # 14: 编号 names another teacher
        row("孙三", new_id(24), school, hire="2019-02-30"),  # 15: impossible date
        row("孙四", new_id(25), school, honours="国家级荣誉(2020-01-01)"),  # 16: unknown honour
        row("孙五", existing.id_number, school, no="999999"),  # 17: 编号 does not match the ID's teacher
        row("", new_id(26), school),  # 18: no name
        row("孙六", good2, school, stage="初中", subjects="数学、物理", title="高级教师",
            honours="省级骨干教师(2021-09-01~2026-08-31)；县级名师(2019-05-01)"),  # 19: good
    ]
    report = run_import(scope_for_user(users["county_admin"]), csv_bytes(rows), actor=users["county_admin"])

    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 0, 0, 16)
    got = reasons(report)
    expected = {
        3: ("身份证号", "身份证号校验码错误"),
        4: ("学校代码", "学校代码不存在：9999999999"),
        5: ("学校代码", f"学校代码不存在：{province.sibling_school.code}"),
        6: ("身份证号", "与第 2 行身份证号重复"),
        7: ("入职日期", "入职日期晚于今天"),
        8: ("入职日期", "入职时未满16周岁，日期不合理"),
        9: ("学段", "无法识别的学段：大学"),
        10: ("职称", "无法识别的职称：教授"),
        11: ("任教学科", "无法识别的任教学科：炼丹"),
        13: ("荣誉", "荣誉有效期应晚于认定日期"),
        14: ("编号", f"编号 {existing.pk} 与身份证号不对应"),
        16: ("荣誉", "无法识别的荣誉：国家级荣誉"),
        17: ("编号", "编号 999999 与身份证号不对应"),
        18: ("姓名", "姓名不能为空且不超过50字"),
    }
    for number, (column, reason) in expected.items():
        assert got[number] == (column, reason), number
    assert got[12][0] == "荣誉" and got[12][1].startswith("荣誉格式应为")
    assert got[15][0] == "入职日期" and "日期不存在" in got[15][1]
    assert set(got) == set(range(3, 19))
    # The report masks ID numbers: the rejected row's values never hold the full number.
    stored = ImportRejection.objects.dangerously_unscoped().get(batch_id=report.batch_id, row_number=6)
    assert stored.values[2] == good[:3] + "*" * 14 + good[-1:]

    created = {t.name: t for t in Teacher.objects.dangerously_unscoped().filter(school=province.school).exclude(pk=existing.pk)}
    assert set(created) == {"钱一", "孙六"}
    sixth = created["孙六"]
    assert (sixth.stage, sixth.title, sixth.id_number, sixth.division_path) == ("junior", "senior", good2, province.county.path)
    assert sixth.subject_codes == ["math", "physics"]
    assert sorted((h.level, h.title, str(h.awarded_on), str(h.expires_on)) for h in sixth.honours.all()) == [
        ("county", "master_teacher", "2019-05-01", "None"), ("province", "backbone", "2021-09-01", "2026-08-31"),
    ]
    existing.refresh_from_db()
    assert existing.name == "张三"


def test_city_admin_cannot_import_into_lankao_but_the_province_can(province, users):
    lankao = province.direct_school.code
    changed = province.direct_teacher
    rows = [
        row("新人", new_id(31, area="410225"), lankao),
        row("王五改", changed.id_number, province.school.code),  # move 兰考's teacher to 杞县
        row("王五", changed.id_number, lankao, title="高级教师", no=str(changed.pk)),
    ]
    report = run_import(scope_for_user(users["city_admin"]), csv_bytes(rows[:2]), actor=users["city_admin"])
    assert report.created == 0 and report.updated == 0
    assert reasons(report) == {
        2: ("学校代码", "本级对该学校只有查看权限，不能导入"),
        3: ("身份证号", ID_TAKEN_MESSAGE),  # the same answer as for a number registered anywhere else
    }
    report = run_import(scope_for_user(users["city_admin"]), csv_bytes(rows[2:]), actor=users["city_admin"])
    assert reasons(report) == {2: ("学校代码", "本级对该学校只有查看权限，不能导入")}
    changed.refresh_from_db()
    assert (changed.name, changed.school_id, changed.title) == ("王五", province.direct_school.pk, "first")

    report = run_import(scope_for_user(users["province_admin"]), csv_bytes(rows[::2]), actor=users["province_admin"])
    assert (report.created, report.updated, report.rejected) == (1, 1, 0)
    changed.refresh_from_db()
    assert changed.title == "senior"


# --- idempotence and updates -------------------------------------------------------------------


def _sample_rows(province):
    return [
        row("周一", new_id(41), province.school.code, honours="市级学科带头人(2020-09-01~2025-08-31)"),
        row("周二", new_id(42, area="410222"), province.sibling_school.code, subjects="英语、音乐", title="未评职称"),
        row("周三", new_id(43, area="410225"), province.direct_school.code, stage="初中", subjects="数学"),
        row("周四", new_id(44, area="410305"), province.other_city_school.code, status="离岗"),
        row("周五", province.teacher.id_number, province.school.code, title="高级教师", hire="2008-09-01"),
    ]


def test_reimporting_the_same_file_changes_nothing(province):
    content = csv_bytes(_sample_rows(province))
    first = run_import(province_scope(province), content)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (4, 1, 0, 0)
    digest = table_digest()
    stamps = dict(Teacher.objects.dangerously_unscoped().values_list("pk", "updated_at"))
    again = run_import(province_scope(province), content)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 5, 0)
    assert again.batch_id != first.batch_id
    assert table_digest() == digest
    assert dict(Teacher.objects.dangerously_unscoped().values_list("pk", "updated_at")) == stamps


def test_an_edited_row_updates_one_teacher_and_is_audited(province):
    rows = _sample_rows(province)
    run_import(province_scope(province), csv_bytes(rows))
    rows[1][6] = "二级教师"
    report = run_import(province_scope(province), csv_bytes(rows))
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 1, 4, 0)
    teacher = Teacher.objects.dangerously_unscoped().get(name="周二")
    assert teacher.title == "second" and teacher.subject_codes == ["english", "music"]
    event = AuditEvent.objects.dangerously_unscoped().filter(action="teacher.update", object_id=str(teacher.pk)).get()
    assert event.detail["changed"] == {"title": {"before": "none", "after": "second"}}
    assert event.detail["import_batch"] == report.batch_id
    summary = AuditEvent.objects.dangerously_unscoped().filter(action="roster.import").latest("id")
    assert (summary.object_id, summary.detail["updated"], summary.detail["unchanged"]) == (str(report.batch_id), 1, 4)


@pytest.mark.parametrize("kind", ["utf-8-sig", "gb18030", "xlsx"])
def test_csv_in_utf8_bom_and_gb18030_and_xlsx(province, kind):
    rows = _sample_rows(province)[:3]
    content = xlsx_bytes(rows) if kind == "xlsx" else csv_bytes(rows, encoding=kind)
    if kind == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
    report = run_import(province_scope(province), content, name=f"名册.{'xlsx' if kind == 'xlsx' else 'csv'}")
    assert (report.created, report.rejected) == (3, 0)
    assert set(Teacher.objects.dangerously_unscoped().filter(name__startswith="周").values_list("name", flat=True)) == {"周一", "周二", "周三"}
    assert Teacher.objects.dangerously_unscoped().get(name="周二").subject_codes == ["english", "music"]


def test_rejections_download_from_the_page_lists_the_rejected_rows(province, users, client_for):
    good, bad = new_id(51), new_id(52)[:17] + ("1" if new_id(52)[17] != "1" else "2")
    content = csv_bytes([row("吴一", good, province.school.code), row("吴二", bad, province.school.code),
                         row("吴三", new_id(53), province.school.code, title="讲师")])
    client = client_for(users["county_admin"])
    response = client.post("/teachers/roster/import/", {"file": SimpleUploadedFile("名册.csv", content, "text/csv")},
                           follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "身份证号校验码错误" in page and "无法识别的职称：讲师" in page
    batch = ImportBatch.objects.dangerously_unscoped().get(actor=users["county_admin"])
    assert (batch.created, batch.rejected) == (1, 2)

    response = client.get(f"/teachers/roster/import/{batch.pk}/rejections.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    table = [list(values) for values in sheet.iter_rows(values_only=True)]
    assert table[0][0] == f"教师名册导入错误（第 {batch.pk} 批）"
    assert table[2] == ["行号", "列", "原因", *COLUMNS]
    assert [(r[0], r[1], r[2], r[4]) for r in table[3:]] == [
        (3, "身份证号", "身份证号校验码错误", "吴二"),
        (4, "职称", "无法识别的职称：讲师", "吴三"),
    ]
    assert table[3][5] == bad[:3] + "*" * 14 + bad[-1:]  # masked in the report
    assert client_for(users["sibling_admin"]).get(f"/teachers/roster/import/{batch.pk}/rejections.xlsx").status_code == 404


# --- crash safety: a crash at chunk k, then a re-run, equals a clean run ----------------------


class Crash(RuntimeError):
    pass


def _crash_file(province):
    """12 rows in chunks of 3: creates, updates of existing teachers, rejections, a duplicate,
    and an ID first seen on a rejected row then on a good one (must be created, not a duplicate)."""
    school, sibling = province.school.code, province.sibling_school.code
    reused = new_id(70)
    rows = [
        row("郑一", new_id(61), school, honours="省级名师(2020-09-01~2025-08-31)"),
        row("郑二", reused, "0000000000"),  # rejected: unknown school
        row("郑三", new_id(63, area="410222"), sibling, subjects="数学、科学"),
        row("老一", new_id(90), school, title="高级教师"),  # update
        row("郑四", new_id(64), school, hire="2099-01-01"),  # rejected
        row("郑五", new_id(65, area="410225"), province.direct_school.code),
        row("郑一重", new_id(61), school),  # duplicate of row 2
        row("老二", new_id(91, area="410222"), sibling, subjects="英语"),  # update
        row("郑六", reused, school),  # good: row 3 with this ID was rejected
        row("郑七", new_id(67), school, stage="普通高中", subjects="化学"),
        row("老三", new_id(92), school),  # unchanged
        row("郑八", new_id(68, area="410305"), province.other_city_school.code),
    ]
    return csv_bytes(rows)


def _reset_state(province):
    Teacher.objects.dangerously_unscoped().exclude(pk__in=[province.teacher.pk, province.sibling_teacher.pk,
                                             province.direct_teacher.pk, province.other_city_teacher.pk]).delete()
    ImportBatch.objects.dangerously_unscoped().all().delete()
    same = {"birth_date": dt.date(1985, 3, 14), "sex": "F", "hire_date": dt.date(2012, 9, 1)}  # as in new_id()
    TeacherFactory(school=province.school, name="老一", id_number=new_id(90), **same)
    TeacherFactory(school=province.sibling_school, name="老二", id_number=new_id(91, area="410222"), **same)
    TeacherFactory(school=province.school, name="老三", id_number=new_id(92), **same)


def _summary(report):
    return (report.created, report.updated, report.unchanged, report.rejected,
            sorted((r.row_number, r.column, r.reason) for r in report.rejections))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(min_value=1, max_value=4), after_writes=st.booleans())
def test_a_crash_at_chunk_k_then_a_rerun_equals_a_clean_run(province, monkeypatch, k, after_writes):
    monkeypatch.setattr(importer_module, "CHUNK_ROWS", 3)
    content = _crash_file(province)
    scope = province_scope(province)

    _reset_state(province)
    clean = _summary(run_import(scope, content))
    expected = table_digest()
    assert clean[:4] == (6, 2, 1, 3), clean

    _reset_state(province)
    original = RosterImporter._commit_chunk
    calls = []

    def crashing(self, batch, chunk):
        calls.append(len(chunk))
        if len(calls) == k:
            if not after_writes:
                raise Crash("before the chunk")
            # Everything of the chunk is written, then the final bookkeeping write fails.
            with mock.patch.object(ImportBatch, "save", side_effect=Crash("inside the chunk")):
                return original(self, batch, chunk)
        return original(self, batch, chunk)

    with monkeypatch.context() as patch:
        patch.setattr(RosterImporter, "_commit_chunk", crashing)
        with pytest.raises(Crash):
            run_import(scope, content)
    batch = ImportBatch.objects.dangerously_unscoped().get()
    # The interrupted batch says so (a killed process would leave it "running"); either resumes.
    assert batch.state == "failed" and batch.rows_done == 3 * (k - 1)  # no partial chunk
    resumed = _summary(run_import(scope, content))
    assert ImportBatch.objects.dangerously_unscoped().get().state == "done"
    assert resumed == clean
    assert table_digest() == expected


# --- malicious corpus ------------------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>\n"
)


def _rewrite(data: bytes, member: str, change, extra: dict | None = None) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == member else content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def _good_rows(province, count=5):
    return [row(f"冯{i}", new_id(100 + i), province.school.code) for i in range(count)]


def billion_laughs(province):
    def poison(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[-1].replace(
            b'<c r="B2"', b'<c r="K2" t="inlineStr"><is><t>&lol9;</t></is></c><c r="B2"', 1)
        return LAUGHS.encode() + body
    return _rewrite(xlsx_bytes(_good_rows(province)), "xl/worksheets/sheet1.xml", poison), "bomb.xlsx"


def zip_bomb(province):
    return _rewrite(xlsx_bytes(_good_rows(province)), "", bytes, {"xl/media/pad.bin": b"\0" * (4 << 20)}), "bomb.xlsx"


def broken_sheet(province):
    # Good rows, then the sheet XML stops mid-way: nothing may be committed.
    return _rewrite(xlsx_bytes(_good_rows(province)), "xl/worksheets/sheet1.xml",
                    lambda xml: xml[: xml.rindex(b"<row")] + b"<row r=\"7\"><c"), "cut.xlsx"


def png_named_xlsx(province):
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.xlsx"


def xlsx_named_csv(province):
    return xlsx_bytes(_good_rows(province)), "roster.csv"


def exe_named_txt(province):
    return b"MZ\x90\x00" + b"\0" * 100, "roster.exe"


def too_many_rows(province):
    return csv_bytes(_good_rows(province, 7)), "many.csv"


def too_big(province):
    return csv_bytes(_good_rows(province, 40)), "big.csv"


def bad_encoding_late(province):
    # Valid UTF-8 for the first 64 KiB (the sniffed part), then a byte no codec accepts.
    head = csv_bytes(_good_rows(province, 3))
    return head + b"," * (70_000) + b"\xff\xfe\xff\n", "late.csv"


CORPUS = {
    billion_laughs: "无法读取 Excel 文件",
    zip_bomb: "压缩炸弹",
    broken_sheet: "无法读取 Excel 文件",
    png_named_xlsx: "不是 Excel 文件",
    xlsx_named_csv: "不是文本",
    exe_named_txt: "只接受 .xlsx 或 .csv",
    too_many_rows: "行数超过上限 5",
    too_big: "文件超过",
    bad_encoding_late: "编码无法识别",
}


@pytest.mark.parametrize("build", CORPUS, ids=lambda build: build.__name__)
def test_malicious_files_are_refused_quickly_and_commit_nothing(province, settings, monkeypatch, build):
    settings.IMPORT_MAX_ROWS = 5
    settings.UPLOAD_MAX_BYTES = 3000 if build is too_big else 50 * 1024 * 1024
    monkeypatch.setattr(importer_module, "CHUNK_ROWS", 2)  # several chunks before the bad part
    content, name = build(province)
    before = Teacher.objects.dangerously_unscoped().count()
    started = time.monotonic()
    with pytest.raises(RosterFileError, match=CORPUS[build]):
        run_import(province_scope(province), content, name=name)
    assert time.monotonic() - started < 5
    assert Teacher.objects.dangerously_unscoped().count() == before
    assert not Teacher.objects.dangerously_unscoped().filter(name__startswith="冯").exists()


def test_a_hostile_upload_on_the_page_is_a_form_error_not_a_server_error(province, users, client_for):
    content, name = billion_laughs(province)
    response = client_for(users["county_admin"]).post(
        "/teachers/roster/import/", {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert "无法读取 Excel 文件" in response.content.decode()
    assert ImportBatch.objects.dangerously_unscoped().get(actor=users["county_admin"]).state == "failed"


def test_control_the_corpus_rows_are_valid(province):
    """The malicious files carry good rows: the refusals above are about the file, not the rows."""
    report = run_import(province_scope(province), xlsx_bytes(_good_rows(province)), name="ok.xlsx")
    assert (report.created, report.rejected) == (5, 0)
    assert id_check_character(new_id(100)[:17]) == new_id(100)[17]
