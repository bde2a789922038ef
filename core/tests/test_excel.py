"""The shared report layout of Excel exports (core.excel)."""

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from core.excel import COUNT, HOURS, Number, display_width, write_table


def _book(**table):
    out = io.BytesIO()
    count = write_table(out, **table)
    out.seek(0)
    return count, load_workbook(out).active


def test_a_titled_table_reads_like_a_report():
    count, sheet = _book(
        sheet="学时", title="河南省 2026 年度教师培训学时统计", jurisdiction="河南省", exported_by="张管理",
        exported_on=dt.date(2026, 11, 30), header=["区划", "教师数", "学时"],
        formats={"教师数": COUNT, "学时": HOURS}, totals=("教师数", "学时"),
        rows=[["郑州市", 12345, Decimal("1234.5")], ["开封市洛阳市周口市驻马店市", 7, 36]])
    assert count == 2
    assert sheet["A1"].value == "河南省 2026 年度教师培训学时统计" and sheet["A1"].font.b
    assert {str(r) for r in sheet.merged_cells.ranges} == {"A1:C1", "A2:C2"}
    assert sheet["A2"].value == "范围：河南省　导出日期：2026-11-30　导出人：张管理"
    assert [c.value for c in sheet[3]] == ["区划", "教师数", "学时"] and all(c.font.b for c in sheet[3])
    assert sheet.freeze_panes == "A4"
    assert sheet["B4"].number_format == "#,##0" and sheet["C4"].number_format == "0.0"
    assert [c.value for c in sheet[6]] == ["合计", 12352, 1270.5] and sheet["A6"].font.b
    assert sheet["C6"].number_format == "0.0"
    # 13 CJK characters are 26 columns wide (+2 padding); a short column keeps the minimum.
    assert sheet.column_dimensions["A"].width == 28
    assert sheet.column_dimensions["B"].width == 8  # "12,345" or the header 教师数 (6) + 2


def test_no_totals_no_total_row_and_formulas_are_neutralised():
    _, sheet = _book(sheet="x", title="t", jurisdiction="杞县", header=["名称", "值"],
                     rows=[["=cmd()", Number(4.25, "0.00")]])
    assert sheet.max_row == 4 and sheet["A4"].value == "'=cmd()"
    assert sheet["B4"].number_format == "0.00" and sheet["B4"].value == 4.25
    assert "导出人" not in sheet["A2"].value


def test_display_width_counts_cjk_double():
    assert display_width("杞县") == 4 and display_width("ab") == 2 and display_width(12345) == 6
    assert display_width(Decimal("1234.5")) == 7 and display_width(None) == 0


def test_an_exported_sheet_reads_back_from_its_header_with_the_files_row_numbers():
    from people.roster.files import header_row, iter_rows

    out = io.BytesIO()
    write_table(out, sheet="名册", title="杞县教师名册", jurisdiction="杞县", exported_by="admin",
                header=["编号", "姓名"], rows=[[1, "张三"], [2, "李四"]])
    rows = iter_rows(out, "roster.xlsx")
    header, at = header_row(rows, lambda row: row[:1] == ["编号"])
    assert (header, at) == (["编号", "姓名"], 3)
    assert [(number, row[1]) for number, row in enumerate(rows, start=at + 1)] == [(4, "张三"), (5, "李四")]


def test_a_file_without_its_header_near_the_top_gives_the_first_row_to_complain_about():
    from people.roster.files import header_row

    rows = iter([["a"], ["b"], ["c"], ["编号"]])
    assert header_row(rows, lambda row: row == ["编号"]) == (["a"], 1)
    assert header_row(iter([]), lambda row: True) == (None, 0)
