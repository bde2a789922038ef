"""What the learning-records pages and API read: clients with their traffic, a client's days,
refusals, unmatched actors and held completions, credited activities, a teacher's statements.
Every read goes through the access policy; list reads are a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from lrs.keys import value_hash
from lrs.models import (
    CreditedActivity,
    CreditState,
    LrsActivity,
    LrsClient,
    LrsClientDay,
    LrsRejection,
    Statement,
    StatementCredit,
)
from people.models import Teacher

DAYS_SHOWN = 30
# Chinese names of the verbs e-learning tools send most (ADL's vocabulary), for statements
# whose verb has no Chinese display of its own.
VERB_NAMES = {
    "http://adlnet.gov/expapi/verbs/" + verb: name for verb, name in (
        ("completed", "完成"), ("passed", "通过"), ("failed", "未通过"), ("attempted", "尝试"), ("launched", "启动"),
        ("initialized", "开始"), ("terminated", "结束"), ("experienced", "学习"), ("progressed", "学习进度"),
        ("answered", "作答"), ("commented", "评论"), ("registered", "报名"), ("scored", "得分"), ("voided", "作废"),
        ("suspended", "暂停"), ("resumed", "继续"), ("attended", "参加"), ("interacted", "互动"), ("asked", "提问"),
        ("shared", "分享"), ("responded", "回应"), ("mastered", "掌握"), ("preferred", "偏好"), ("imported", "导入"),
        ("exited", "退出"), ("logged-in", "登录"), ("logged-out", "退出登录"))
}
LANGUAGE_ORDER = ("zh-CN", "zh-Hans", "zh-Hans-CN", "zh", "zh-TW", "zh-Hant", "en-US", "en-GB", "en")


def language_text(language_map: Any) -> str:
    """The Chinese text of a language map, else English, else any; "" when there is none."""
    if not isinstance(language_map, dict) or not language_map:
        return ""
    lowered = {str(tag).lower(): text for tag, text in language_map.items() if isinstance(text, str)}
    for tag in LANGUAGE_ORDER:
        if tag.lower() in lowered:
            return lowered[tag.lower()]
    for tag, text in lowered.items():
        if tag.startswith("zh"):
            return text
    return next(iter(lowered.values()), "")


def verb_name(verb: dict) -> str:
    shown = language_text(verb.get("display"))
    chinese = VERB_NAMES.get(verb.get("id", ""))
    if chinese and not any(str(tag).lower().startswith("zh") for tag in (verb.get("display") or {})):
        return chinese
    return shown or chinese or verb.get("id", "")


# --- clients ------------------------------------------------------------------------------------

def clients_list(scope: Scope) -> QuerySet[LrsClient]:
    """The clients this administrator sees, each with today's counts and the last 30 days' total."""
    today = timezone.localdate()
    days = visible(scope, LrsClientDay).filter(client=OuterRef("pk"))
    recent = (days.filter(day__gt=today - dt.timedelta(days=DAYS_SHOWN)).values("client")
              .annotate(total=Sum("statements")).values("total"))
    return (visible(scope, LrsClient).select_related("division")
            .annotate(today_statements=Coalesce(Subquery(days.filter(day=today).values("statements")[:1]), Value(0),
                                                output_field=IntegerField()),
                      today_rejected=Coalesce(Subquery(days.filter(day=today).values("rejected")[:1]), Value(0),
                                              output_field=IntegerField()),
                      recent_statements=Coalesce(Subquery(recent[:1]), Value(0), output_field=IntegerField()))
            .order_by("revoked_at", "name", "pk"))


@dataclass
class Day:
    day: dt.date
    statements: int
    rejected: int


def client_days(client: LrsClient, days: int = DAYS_SHOWN) -> list[Day]:
    """The last `days` days, oldest first, zeros where nothing came."""
    today = timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    counted = {row.day: row for row in client.days.filter(day__gte=first)}
    out = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        row = counted.get(day)
        out.append(Day(day, row.statements if row else 0, row.rejected if row else 0))
    return out


def client_rejections(client: LrsClient, limit: int = 50) -> list[LrsRejection]:
    return list(client.rejections.order_by("-at", "-pk")[:limit])


@dataclass
class UnmatchedActor:
    agent_key: str
    completions: int
    latest: dt.datetime


def client_unmatched(scope: Scope, client: LrsClient, limit: int = 100) -> list[UnmatchedActor]:
    """Actors of this client's completions of credited activities that match no teacher yet."""
    rows = (visible(scope, StatementCredit).filter(client=client, state=CreditState.UNMATCHED)
            .values("agent_key").annotate(completions=Count("pk"), latest=Max("created_at")).order_by("-latest")[:limit])
    return [UnmatchedActor(row["agent_key"], row["completions"], row["latest"]) for row in rows]


def credits_queryset(scope: Scope, *, state: str = CreditState.FLAGGED,
                     client: LrsClient | None = None) -> QuerySet[StatementCredit]:
    credits = visible(scope, StatementCredit).filter(state=state)
    if client is not None:
        credits = credits.filter(client=client)
    return (credits.select_related("teacher", "teacher__school", "credited_activity", "statement", "client")
            .order_by("-created_at", "-pk"))


def credits_list(scope: Scope, *, state: str = CreditState.FLAGGED, client: LrsClient | None = None,
                 limit: int = 200) -> list[StatementCredit]:
    return list(credits_queryset(scope, state=state, client=client)[:limit])


def credit_counts(scope: Scope, client: LrsClient | None = None) -> dict[str, int]:
    credits = visible(scope, StatementCredit)
    if client is not None:
        credits = credits.filter(client=client)
    counts = dict(credits.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in CreditState.values}


def credited_activities_list(scope: Scope, *, search: str = "") -> QuerySet[CreditedActivity]:
    rows = visible(scope, CreditedActivity).select_related("division")
    if search:
        rows = rows.filter(Q(title__icontains=search) | Q(activity_iri__icontains=search))
    return rows.annotate(credited=Count("credits", filter=Q(credits__state=CreditState.CREDITED))).order_by(
        "-active", "activity_iri", "pk")


# --- a teacher's learning records --------------------------------------------------------------

@dataclass
class Record:
    statement_id: str
    when: dt.datetime
    verb: str
    activity: str
    activity_id: str
    score: str
    source: str
    credit: str


def _score(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    score: dict = result["score"] if isinstance(result.get("score"), dict) else {}
    if isinstance(score.get("scaled"), (int, float)):
        return f"{round(score['scaled'] * 100)}%"
    if isinstance(score.get("raw"), (int, float)):
        return f"{score['raw']}" + (f"/{score['max']}" if isinstance(score.get("max"), (int, float)) else "")
    if result.get("success") is True:
        return "通过"
    if result.get("success") is False:
        return "未通过"
    return ""


def _cursor(row: Statement) -> str:
    return f"{int(row.timestamp.timestamp() * 1_000_000)}.{row.seq}"


def _after_cursor(cursor: str) -> Q | None:
    """Rows before a cursor in (timestamp, seq) order; None for a cursor that is not one."""
    micros, _, seq = (cursor or "").partition(".")
    if not (micros.isascii() and micros.isdigit() and seq.isascii() and seq.isdigit() and len(cursor) < 40):
        return None
    moment = dt.datetime.fromtimestamp(int(micros) / 1_000_000, tz=dt.UTC)
    return Q(timestamp__lt=moment) | Q(timestamp=moment, seq__lt=int(seq))


def teacher_records(scope: Scope, teacher: Teacher, *, before: str = "", limit: int = 50
                    ) -> tuple[list[Record], str | None]:
    """A teacher's statements, newest first (by when they happened), in Chinese where the
    statement or the activity's definition allows; and the cursor of the next page (None at the
    end). Three queries."""
    rows = visible(scope, Statement).filter(teacher=teacher, voided=False, is_voiding=False)
    condition = _after_cursor(before) if before else None
    if condition is not None:
        rows = rows.filter(condition)
    page = list(rows.select_related("client").order_by("-timestamp", "-seq")[:limit + 1])
    more = _cursor(page[limit - 1]) if len(page) > limit else None
    page = page[:limit]
    objects = {row.full.get("object", {}).get("id") for row in page if isinstance(row.full.get("object"), dict)}
    definitions = {a.activity_id: a.definition for a in LrsActivity.objects.filter(
        activity_hash__in=[value_hash(iri) for iri in objects if isinstance(iri, str)])}
    credits = dict(visible(scope, StatementCredit).filter(statement__in=[row.seq for row in page])
                   .values_list("statement_id", "state"))
    labels = dict(CreditState.choices)
    records = []
    for row in page:
        target: dict = row.full["object"] if isinstance(row.full.get("object"), dict) else {}
        iri = target.get("id", "") if isinstance(target.get("id"), str) else ""
        definition: dict = target["definition"] if isinstance(target.get("definition"), dict) else {}
        name = language_text(definition.get("name")) or language_text((definitions.get(iri) or {}).get("name")) or iri
        records.append(Record(statement_id=str(row.statement_id), when=row.timestamp, verb=verb_name(row.full["verb"]),
                              activity=name, activity_id=iri, score=_score(row.full.get("result")),
                              source=row.client.name, credit=labels.get(credits.get(row.seq, ""), "")))
    return records, more
