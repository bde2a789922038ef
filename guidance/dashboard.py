"""The guidance dashboard of an administrator's jurisdiction for a period: how fast first answers
come (distribution), what is overdue, each team's load and satisfaction, and what waits
unanswered in each division below. Counted in the database (a few aggregate queries, whatever
the number of questions), over the questions the viewer sees (asked by teachers of their
jurisdiction)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Q
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from guidance.constants import QuestionState
from guidance.models import GuidanceTeam, Question
from org.models import Division

# Upper bounds (hours) of the first-answer buckets; the last bucket is "longer".
BUCKETS = (4, 12, 24, 48, 72)


@dataclass
class Dashboard:
    start: dt.date
    end: dt.date
    asked: int
    answered: int
    resolved: int
    instant: int
    overdue: int
    rated: int
    satisfaction: float | None
    buckets: list[tuple[str, int]]
    teams: list[dict]
    divisions: list[dict]

    @property
    def answered_percent(self) -> float:
        return round(100 * self.answered / self.asked, 1) if self.asked else 0.0


EARLIEST = dt.date(2000, 1, 1)
LONGEST_DAYS = 5 * 366  # a five-year cycle


def clean_period(start: dt.date | None, end: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period asked for (default: the last 30 days), or ValidationError in Chinese."""
    from django.core.exceptions import ValidationError

    end = end or today
    if not EARLIEST <= end <= today + dt.timedelta(days=366):
        raise ValidationError({"end": "结束日期超出范围"})
    start = start or end - dt.timedelta(days=29)
    if not EARLIEST <= start <= end:
        raise ValidationError({"start": "开始日期须在 2000 年以后且不晚于结束日期"})
    if (end - start).days > LONGEST_DAYS:
        raise ValidationError({"start": "时间段不能超过五年"})
    return start, end


def _bucket_labels() -> list[str]:
    labels, low = [], 0
    for high in BUCKETS:
        labels.append(f"{low}–{high} 小时")
        low = high
    return [*labels, f"{BUCKETS[-1]} 小时以上", "尚未解答"]


def dashboard(scope: Scope, *, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = visible(scope, Question).filter(created_at__gte=since, created_at__lt=until)
    expert = Q(matched__isnull=True)
    bucket_counts = {}
    low = None
    for high in BUCKETS:
        within = Q(first_answered_at__lte=F("created_at") + dt.timedelta(hours=high))
        above = Q(first_answered_at__gt=F("created_at") + dt.timedelta(hours=low)) if low else Q()
        bucket_counts[f"b{high}"] = Count("id", filter=expert & within & above)
        low = high
    totals = rows.aggregate(
        asked=Count("id"), answered=Count("id", filter=Q(first_answered_at__isnull=False)),
        resolved=Count("id", filter=Q(state=QuestionState.RESOLVED)),
        instant=Count("id", filter=Q(matched__isnull=False)),
        overdue=Count("id", filter=Q(state=QuestionState.WAITING, first_answered_at__isnull=True, due_at__lt=now)),
        rated=Count("id", filter=Q(rating__isnull=False)), satisfaction=Avg("rating"),
        longer=Count("id", filter=expert & Q(first_answered_at__gt=F("created_at") + dt.timedelta(hours=BUCKETS[-1]))),
        never=Count("id", filter=expert & Q(first_answered_at__isnull=True)),
        **bucket_counts)
    counts = [totals[f"b{high}"] for high in BUCKETS] + [totals["longer"], totals["never"]]
    team_rows = (rows.exclude(team__isnull=True).values("team_id", "team__name")
                 .annotate(asked=Count("id"), open=Count("id", filter=~Q(state=QuestionState.RESOLVED)),
                           overdue=Count("id", filter=Q(state=QuestionState.WAITING, first_answered_at__isnull=True,
                                                        due_at__lt=now)),
                           satisfaction=Avg("rating"))
                 .order_by("-open", "team__name"))
    team_rows = list(team_rows)
    members = dict(visible(scope, GuidanceTeam).filter(pk__in=[r["team_id"] for r in team_rows])
                   .annotate(n=Count("members")).values_list("id", "n"))
    for r in team_rows:
        r["members"] = members.get(r["team_id"], 0)
    teams = [{"id": r["team_id"], "name": r["team__name"], "asked": r["asked"], "open": r["open"],
              "overdue": r["overdue"], "members": r["members"],
              "per_member": round(r["open"] / r["members"], 1) if r["members"] else None,
              "satisfaction": round(r["satisfaction"], 2) if r["satisfaction"] is not None else None}
             for r in team_rows]
    return Dashboard(start=start, end=end, asked=totals["asked"], answered=totals["answered"],
                     resolved=totals["resolved"], instant=totals["instant"], overdue=totals["overdue"],
                     rated=totals["rated"],
                     satisfaction=round(totals["satisfaction"], 2) if totals["satisfaction"] is not None else None,
                     buckets=list(zip(_bucket_labels(), counts, strict=True)), teams=teams,
                     divisions=_unanswered_by_division(scope, rows))


def _unanswered_by_division(scope: Scope, rows) -> list[dict]:
    """Questions still without a first answer, per division directly below the viewer's (per county
    for a city, per city for the province; a county or school sees its own line)."""
    waiting = (rows.filter(first_answered_at__isnull=True, matched__isnull=True)
               .values("division_path").annotate(n=Count("id")))
    depth = len([p for p in (scope.path or "").split(".") if p]) + (0 if scope.is_leaf or scope.school_id else 1)
    per: dict[str, int] = {}
    for row in waiting:
        parts = [p for p in row["division_path"].split(".") if p]
        key = ".".join(parts[:depth]) + "." if parts else ""
        per[key] = per.get(key, 0) + row["n"]
    names = dict(Division.objects.filter(path__in=list(per)).values_list("path", "name"))
    return sorted(({"path": path, "name": names.get(path, path), "waiting": n} for path, n in per.items()),
                  key=lambda item: -item["waiting"])
