"""The 学时证明 as an A4 PDF (reportlab). Chinese text uses reportlab's built-in
CID font STSong-Light, so no font file is shipped; the QR code (also a link in
the PDF) opens the public verification page."""

from __future__ import annotations

import io
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from credits.certificates import IssuedCertificate
from credits.constants import CATEGORY_LABELS

FONT = "STSong-Light"
PLATFORM = "河南省中小学教师研修平台"
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#5f6b7a")
RULE = colors.HexColor("#c8ced6")
HEAD = colors.HexColor("#eef2f6")


@lru_cache(maxsize=1)
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=11, leading=17, textColor=INK, wordWrap="CJK")
    return {
        "base": base,
        "platform": ParagraphStyle("platform", parent=base, fontSize=10, textColor=MUTED, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontSize=24, leading=32, alignment=TA_CENTER, spaceBefore=4,
                                spaceAfter=18),
        "statement": ParagraphStyle("statement", parent=base, fontSize=12.5, leading=24, firstLineIndent=25),
        "heading": ParagraphStyle("heading", parent=base, fontSize=12, leading=18, spaceBefore=14, spaceAfter=6),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10.5, leading=15),
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=14, textColor=MUTED),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9, leading=12, textColor=MUTED, alignment=TA_CENTER),
    }


class QrCode(Flowable):
    """A QR code of `url`, `size` points square, that is also a link to it."""

    def __init__(self, url: str, size: float):
        super().__init__()
        self.url, self.size = url, size

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self):
        widget = QrCodeWidget(self.url, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(self.size, self.size, transform=[self.size / (x1 - x0), 0, 0, self.size / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, self.canv, 0, 0)
        self.canv.linkURL(self.url, (0, 0, self.size, self.size), relative=1)


def _hours(value) -> str:
    return f"{value:.1f}"


def _limit(value, empty: str) -> str:
    return empty if value is None else _hours(value)


def _status(issued: IssuedCertificate) -> str:
    certificate = issued.certificate
    if certificate.complete:
        return "已达到本周期学时要求"
    if certificate.owed > 0:
        return f"距本周期要求尚差 {_hours(certificate.owed)} 学时"
    return "学时总数已达到要求，但有类别未达到最低学时"


def _grid(rows: list[list], widths: list[float], *, header: bool) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), _font()),
        ("FONTSIZE", (0, 0), (-1, -1), 10.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ("LEFTPADDING", (0, 0), (-1, -1), 7),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), HEAD), ("ALIGN", (1, 1), (-1, -1), "RIGHT")]
    else:
        style += [("BACKGROUND", (0, 0), (0, -1), HEAD), ("BACKGROUND", (2, 0), (2, -1), HEAD)]
    table.setStyle(TableStyle(style))
    return table


def certificate_pdf(*, issued: IssuedCertificate, teacher, verify_url: str) -> bytes:
    """The certificate for the teacher or their administrators: full name (the
    public verification page shows it masked)."""
    styles = _styles()
    certificate, summary = issued.certificate, issued.summary
    cycle = summary.cycle
    school_name = teacher.school.name
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm, bottomMargin=18 * mm,
        title="继续教育学时证明", author=PLATFORM, subject=f"证书编号 {certificate.serial}", creator=PLATFORM,
    )
    width = document.width
    cell = styles["cell"]
    statement = (
        f"兹证明 {escape(school_name)} 教师 {escape(teacher.name)}，在 {escape(cycle.code)} 继续教育周期"
        f"（{cycle.starts_on:%Y年%m月%d日}至{cycle.ends_on:%Y年%m月%d日}）内，截至 {certificate.issued_on:%Y年%m月%d日}，"
        f"经认定计入的继续教育学时为 {_hours(certificate.counted)} 学时；本周期要求 {_hours(certificate.required)} 学时，"
        f"{_status(issued)}。"
    )
    quarter = width / 4
    facts = _grid([
        ["姓名", Paragraph(escape(teacher.name), cell), "学校", Paragraph(escape(school_name), cell)],
        ["继续教育周期", escape(cycle.code), "学时规则", f"第 {certificate.rule_version} 版"],
        ["本周期要求学时", _hours(certificate.required), "已认定计入学时", _hours(certificate.counted)],
    ], [quarter * 0.9, quarter * 1.1, quarter * 0.9, quarter * 1.1], header=False)
    limits = {line.category: line for line in summary.lines}
    category_rows: list[list] = [["类别", "计入学时", "最低要求", "计入上限"]]
    for code, hours in certificate.categories:
        line = limits.get(code)
        category_rows.append([CATEGORY_LABELS.get(code, code), _hours(hours),
                              _limit(line.min_hours if line else None, "—"), _limit(line.max_hours if line else None, "不限")])
    category_rows.append(["合计", _hours(certificate.counted), "", ""])
    categories = _grid(category_rows, [width * 0.34, width * 0.22, width * 0.22, width * 0.22], header=True)
    categories.setStyle(TableStyle([("BACKGROUND", (0, -1), (-1, -1), HEAD)]))

    qr_size = 34 * mm
    issue_block = [
        Paragraph(f"签发日期：{certificate.issued_on:%Y年%m月%d日}", styles["base"]),
        Paragraph(f"证书编号：{escape(certificate.serial)}", styles["base"]),
        Spacer(1, 6),
        Paragraph("扫描右侧二维码可核验本证明的真伪。核验页面只显示脱敏后的姓名、学校、周期与学时；"
                  "证明上的任何数字被改动，核验即不通过。", styles["small"]),
    ]
    footer = Table(
        [[issue_block, [QrCode(verify_url, qr_size), Paragraph("扫码核验", styles["caption"])]]],
        colWidths=[width - qr_size - 12 * mm, qr_size + 12 * mm], hAlign="LEFT",
    )
    footer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("ALIGN", (1, 0), (1, 0), "CENTER"),
                                ("LEFTPADDING", (0, 0), (0, 0), 0)]))

    story = [
        Paragraph(PLATFORM, styles["platform"]),
        Paragraph("继续教育学时证明", styles["title"]),
        Paragraph(statement, styles["statement"]),
        Paragraph("基本信息", styles["heading"]),
        facts,
        Paragraph("分类学时", styles["heading"]),
        categories,
        Spacer(1, 24),
        footer,
        Spacer(1, 14),
        Paragraph(f"本证明由{PLATFORM}依据学时账本生成（豫教师〔2021〕66号：五年一周期，周期中途入职的教师按在岗时间折算要求）。"
                  "计入学时为已认定学时按各类别计入上限计算后的合计；待审核的学时不计入。", styles["small"]),
    ]
    document.build(story)
    return buffer.getvalue()
