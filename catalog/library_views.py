"""The library at a glance: a level × category grid (§二(三) 分层分类), each cell leading to
the filtered project list."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import scoped_view
from catalog.constants import Level, ProjectCategory
from catalog.selectors import library_counts
from core.requests import year_param


@scoped_view
@require_GET
def library_grid(request, scope):
    year = year_param(request.GET.get("year"))
    counts = library_counts(scope=scope, year=year or None)
    rows = []
    for category, label in ProjectCategory.choices:
        cells = [counts.get((level, category)) for level in Level.values]
        rows.append((category, label, list(zip(Level.values, cells, strict=True)),
                     sum(cell["projects"] for cell in cells if cell)))
    totals = [sum(row["projects"] for (lvl, _), row in counts.items() if lvl == level) for level in Level.values]
    this_year = timezone.localdate().year
    return render(request, "catalog/library_grid.html", {
        "rows": rows, "levels": Level.choices, "totals": totals, "year": year,
        "years": range(this_year - 4, this_year + 2),
    })
