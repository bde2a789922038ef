"""The guidance dashboard as an Excel workbook (core.excel's titled sheets): totals, the
first-answer distribution, teams and unanswered questions per division. Aggregates only: no
teacher is named."""

from __future__ import annotations

import io

from core.excel import COUNT, Number, add_table, new_workbook
from guidance.dashboard import Dashboard


def dashboard_workbook(board: Dashboard, *, title: str, jurisdiction: str, exported_by: str = "") -> bytes:
    book = new_workbook()
    period = f"（{board.start:%Y-%m-%d} 至 {board.end:%Y-%m-%d}）"
    common: dict = {"jurisdiction": jurisdiction, "exported_by": exported_by}
    add_table(book, sheet="总览", title=f"{title}{period}", header=["指标", "数值"], formats={"数值": COUNT}, rows=[
        ("提问数", board.asked), ("已获解答", board.answered), ("已解决", board.resolved),
        ("即时解答（采纳已答问题）", board.instant), ("超时未答", board.overdue), ("评价数", board.rated),
        ("平均满意度", Number(board.satisfaction, "0.00"))], **common)
    add_table(book, sheet="首次解答用时", title=f"{title}：首次解答用时{period}", header=["用时", "问题数"],
              formats={"问题数": COUNT}, totals=("问题数",), rows=board.buckets, **common)
    team_header = ["团队", "提问数", "未解决", "超时未答", "成员数", "人均未解决", "平均满意度"]
    add_table(book, sheet="团队负荷", title=f"{title}：团队负荷{period}", header=team_header,
              formats={"提问数": COUNT, "未解决": COUNT, "超时未答": COUNT, "成员数": COUNT, "人均未解决": "0.0",
                       "平均满意度": "0.00"},
              rows=([team["name"], team["asked"], team["open"], team["overdue"], team["members"], team["per_member"],
                     team["satisfaction"]] for team in board.teams), **common)
    add_table(book, sheet="各地未答", title=f"{title}：各地尚未解答{period}", header=["区划", "尚未解答"],
              formats={"尚未解答": COUNT}, totals=("尚未解答",),
              rows=([row["name"], row["waiting"]] for row in board.divisions), **common)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
