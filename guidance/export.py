"""The guidance dashboard as an Excel workbook (openpyxl): totals, the first-answer distribution,
teams and unanswered questions per division. Aggregates only: no teacher is named."""

from __future__ import annotations

import io

from openpyxl import Workbook

from guidance.dashboard import Dashboard


def dashboard_workbook(board: Dashboard, *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "总览"
    sheet.append([title, f"{board.start:%Y-%m-%d} 至 {board.end:%Y-%m-%d}"])
    for label, value in (("提问数", board.asked), ("已获解答", board.answered), ("已解决", board.resolved),
                         ("即时解答（采纳已答问题）", board.instant), ("超时未答", board.overdue),
                         ("评价数", board.rated), ("平均满意度", board.satisfaction)):
        sheet.append([label, value])
    spread = book.create_sheet("首次解答用时")
    spread.append(["用时", "问题数"])
    for label, count in board.buckets:
        spread.append([label, count])
    teams = book.create_sheet("团队负荷")
    teams.append(["团队", "提问数", "未解决", "超时未答", "成员数", "人均未解决", "平均满意度"])
    for team in board.teams:
        teams.append([team["name"], team["asked"], team["open"], team["overdue"], team["members"],
                      team["per_member"], team["satisfaction"]])
    divisions = book.create_sheet("各地未答")
    divisions.append(["区划", "尚未解答"])
    for row in board.divisions:
        divisions.append([row["name"], row["waiting"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
