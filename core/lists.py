"""What every long list page shares: page-number pagination and the division pick-list.
(Lists already paged by keyset — the teacher registry, the course library — keep theirs.)"""

from __future__ import annotations

from django.core.paginator import Page, Paginator

from access.scope import Scope

PAGE_SIZE = 50


def paginate(request, rows, *, per_page: int = PAGE_SIZE) -> Page:
    """The requested page of `rows` (a junk or out-of-range page number gives the nearest page)."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def division_choices(scope: Scope) -> list[tuple[str, str]]:
    """The divisions inside the viewer's jurisdiction as (code, label) for a filter's select,
    counties indented under their city; empty for viewers without a division."""
    from org.selectors import division_list

    if scope.path is None or scope.school_id is not None:
        return []
    rows = division_list(scope=scope).select_related(None).order_by("path").values_list("code", "name", "level")
    indent = {"province": "", "city": "", "county": "　"}
    return [(code, f"{indent.get(level, '')}{name}") for code, name, level in rows]


def division_filter(scope: Scope, code: str) -> str:
    """The division path a `division` filter names, when that division is inside the
    jurisdiction; "" for no filter. Raises ValueError for a code outside it."""
    from org.selectors import division_get

    code = (code or "").strip()[:6]
    if not code:
        return ""
    division = division_get(scope=scope, code=code) if scope.path is not None else None
    if division is None:
        raise ValueError(code)
    return division.path
