"""Numbers and pages shown the same way on every page.

`count` (12,345) and `hours` (36.0, 1,234.5) format explicitly rather than through Django's
localisation, so a page reads the same whatever the locale settings; `pager` renders the shared
page-number navigation, keeping the list's filters in its links."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

MISSING = "—"
PAGE_WINDOW = 2  # pages either side of the current one


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _formatted(value, step: str, suffix: str = "") -> str:
    """`value` rounded half up to `step`, with thousands separators; nothing → "—"."""
    number = _decimal(value)
    if number is None:
        return MISSING
    return f"{number.quantize(Decimal(step), rounding=ROUND_HALF_UP):,}{suffix}"


@register.filter
def count(value) -> str:
    """A count with thousands separators: 12345 → "12,345"; nothing → "—"."""
    return _formatted(value, "1")


@register.filter
def hours(value) -> str:
    """Hours with one decimal and thousands separators: 36 → "36.0", 1234.56 → "1,234.6"."""
    return _formatted(value, "0.1")


@register.filter
def percent(value) -> str:
    """A percentage already scaled to 0–100, one decimal: 66.666 → "66.7%"."""
    return _formatted(value, "0.1", "%")


def page_numbers(number: int, last: int) -> list[int | None]:
    """The page links to show: the first, the last and a window round the current page;
    None where pages are left out (shown as …)."""
    shown = sorted({1, last, *range(max(1, number - PAGE_WINDOW), min(last, number + PAGE_WINDOW) + 1)})
    out: list[int | None] = []
    for page in shown:
        if out and page - (out[-1] or 0) > 1:
            out.append(None)
        out.append(page)
    return out


@register.inclusion_tag("core/_pager.html", takes_context=True)
def pager(context, page, unit: str = "条"):
    """Page-number navigation under a list: 上一页, the numbers, 下一页 and 共 N 条; the links
    keep every other query parameter (the filters)."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    if query is not None:
        query.pop("page", None)
    base = query.urlencode() if query else ""
    prefix = f"?{base}&page=" if base else "?page="
    return {"page": page, "prefix": prefix, "unit": unit,
            "numbers": page_numbers(page.number, page.paginator.num_pages) if page.paginator.num_pages > 1 else []}
