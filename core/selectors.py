"""What each role's home page shows."""

from django.core.cache import cache

from access.scope import Scope
from org.constants import Stage
from people.constants import Title
from people.selectors import teacher_stage_title_counts

HOME_STATS_SECONDS = 600


def stage_title_chart(*, scope: Scope) -> tuple[dict, int]:
    """ECharts option: teachers by stage (x) stacked by title; and the total.

    The counts are a GROUP BY over the whole jurisdiction (1.3 M rows for the
    province, ~250 ms), so they are cached per scope for ten minutes."""
    key = f"home:stage-title:{scope.path}:{scope.school_id}:{scope.teacher_id}"
    counts: list[dict] = cache.get_or_set(key, lambda: teacher_stage_title_counts(scope=scope), HOME_STATS_SECONDS) or []
    stages = [stage for stage in Stage if any(row["stage"] == stage for row in counts)]
    series = []
    for title in Title:
        data = [
            next((row["count"] for row in counts if row["stage"] == stage and row["title"] == title), 0)
            for stage in stages
        ]
        if any(data):
            series.append({"name": title.label, "type": "bar", "stack": "total", "data": data})
    option = {
        "animationDuration": 300,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 50, "right": 10, "bottom": 30, "top": 60},
        "xAxis": {"type": "category", "data": [stage.label for stage in stages]},
        "yAxis": {"type": "value", "name": "人数"},
        "series": series,
    }
    return option, sum(row["count"] for row in counts)
