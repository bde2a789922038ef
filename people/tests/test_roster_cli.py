"""`yanxiu roster import/export`: JSON report, exit status, full-ID export audited, round trip."""

import csv
import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from people.models import Teacher
from people.roster.columns import COLUMNS
from people.tests.helpers import cli_roster_import


def test_export_then_import_round_trip_changes_nothing(province, tmp_path, capsys):
    for name in ("out.csv", "out.xlsx"):
        target = tmp_path / name
        call_command("roster", "export", "--division", "410200", str(target))
        assert "已导出 3 人" in capsys.readouterr().out  # 杞县, 通许, 兰考 (not 洛阳)
        code, report = cli_roster_import(target, capsys)
        assert code == 0
        assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (0, 0, 3, 0)
    with (tmp_path / "out.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == COLUMNS
    assert {row[2] for row in rows[1:]} == {province.teacher.id_number, province.sibling_teacher.id_number, province.direct_teacher.id_number}
    event = AuditEvent.objects.dangerously_unscoped().filter(action="roster.export").latest("id")
    assert event.detail["full_ids"] is True and event.detail["rows"] == 3 and event.detail["channel"] == "cli"


def test_import_with_rejections_exits_non_zero_and_reports_rows(province, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(["", "坏行", "410221198503140000", province.school.code, "小学", "数学",
                                                         "一级教师", "2010-09-01", "在岗", ""]) + "\n", encoding="utf-8")
    code, report = cli_roster_import(path, capsys)
    assert code == 1
    assert report["rejected"] == 1
    assert report["rejections"][0]["row_number"] == 2 and report["rejections"][0]["column"] == "身份证号"
    assert "410221198503140000" not in json.dumps(report)  # the report masks the number


def test_import_as_a_county_admin_is_limited_to_that_county(province, users, tmp_path, capsys):
    path = tmp_path / "x.csv"
    call_command("roster", "export", "--division", "410200", str(path))
    capsys.readouterr()
    # Change every name, then import as 杞县's admin: only 杞县's row may change.
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    for row in rows[1:]:
        row[1] = row[1] + "改"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    code, report = cli_roster_import(path, capsys, "--as", users["county_admin"].username)
    assert code == 1 and report["updated"] == 1 and report["rejected"] == 2
    assert Teacher.objects.dangerously_unscoped().get(pk=province.teacher.pk).name == "张三改"
    assert Teacher.objects.dangerously_unscoped().get(pk=province.sibling_teacher.pk).name == "李四"


@pytest.mark.django_db
def test_bad_invocations_fail_clearly(tmp_path):
    with pytest.raises(CommandError, match="区划代码不存在"):
        call_command("roster", "export", "--division", "999999", str(tmp_path / "a.csv"))
    with pytest.raises(CommandError, match="扩展名"):
        call_command("roster", "export", "--division", "410000", str(tmp_path / "a.txt"))
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("roster", "import", str(tmp_path / "missing.csv"))
    (tmp_path / "fake.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    with pytest.raises(CommandError, match="不是 Excel"):
        call_command("roster", "import", str(tmp_path / "fake.xlsx"))
