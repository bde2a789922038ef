"""Reads of the trainer pool, through the access policy: the search (filters, a stable order,
pages), one trainer with their bookings, the sessions they delivered, their grade history and
their development record as a learner, and the staffing of a project's sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from catalog.constants import EnrolmentState, Topic
from catalog.models import Enrolment, Project, ProjectSession
from org.constants import Stage
from org.models import Division
from people.constants import Subject
from people.models import Teacher
from trainers.constants import Grade, PoolLevel, Source
from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability, tag

PAGE_SIZE = 20
PAGE_SIZE_MAX = 100


@dataclass(frozen=True)
class TrainerFilters:
    level: str = ""  # province / city / county: the pool's level
    division: str = ""  # a division code: that division's pool only
    stage: str = ""
    subject: str = ""
    topic: str = ""
    source: str = ""
    grade: int = 0
    q: str = ""  # part of the name
    available_on: dt.date | None = None  # not booked that day, not unavailable, in the pool
    include_inactive: bool = False

    @classmethod
    def from_query(cls, data) -> TrainerFilters:
        """From a page's or the API's query: unknown codes are dropped, a bad date is ignored."""
        def pick(name: str, allowed) -> str:
            value = str(data.get(name, "") or "")[:30]
            return value if value in allowed else ""

        try:
            grade = int(data.get("grade") or 0)
        except (TypeError, ValueError):
            grade = 0
        try:
            available_on = dt.date.fromisoformat(str(data.get("available_on") or "")) if data.get("available_on") else None
        except ValueError:
            available_on = None
        division = str(data.get("division", "") or "")[:6]
        return cls(level=pick("level", PoolLevel.values), division=division if division.isdigit() else "",
                   stage=pick("stage", Stage.values), subject=pick("subject", Subject.values),
                   topic=pick("topic", Topic.values), source=pick("source", Source.values),
                   grade=grade if grade in Grade.values else 0, q=str(data.get("q", "") or "").strip()[:30],
                   available_on=available_on,
                   include_inactive=str(data.get("include_inactive", "")).lower() in ("1", "true", "on"))

    def as_query(self) -> dict[str, str]:
        values = {"level": self.level, "division": self.division, "stage": self.stage, "subject": self.subject,
                  "topic": self.topic, "source": self.source, "grade": str(self.grade or ""), "q": self.q,
                  "available_on": self.available_on.isoformat() if self.available_on else "",
                  "include_inactive": "1" if self.include_inactive else ""}
        return {key: value for key, value in values.items() if value}


def trainers(scope: Scope, filters: TrainerFilters = TrainerFilters()) -> QuerySet[Trainer]:
    """The trainers this viewer sees that pass the filters, strongest grade first, then in the order
    they joined (a stable order for pages)."""
    rows = visible(scope, Trainer)
    if not filters.include_inactive or filters.available_on:
        rows = rows.filter(active=True)
    if filters.level:
        rows = rows.filter(pool_level=filters.level)
    if filters.division:
        rows = rows.filter(division__code=filters.division)
    for kind in ("stage", "subject", "topic", "source"):
        value = getattr(filters, kind)
        if value:
            rows = rows.filter(tags__contains=tag(kind, value))
    if filters.grade:
        rows = rows.filter(grade=filters.grade)
    if filters.q:
        rows = rows.filter(name__contains=filters.q)
    if filters.available_on:
        day = filters.available_on
        rows = rows.exclude(bookings__held_on=day).filter(~Exists(
            visible(scope, TrainerUnavailability).filter(trainer=OuterRef("pk"), starts_on__lte=day, ends_on__gte=day)))
    return rows.select_related("division").order_by("-grade", "pk")


@dataclass
class TrainerPage:
    page: Page
    rows: list[Trainer]
    delivered: dict[int, int] = field(default_factory=dict)  # trainer id -> sessions delivered
    upcoming: dict[int, int] = field(default_factory=dict)  # trainer id -> sessions booked ahead


def trainer_page(scope: Scope, filters: TrainerFilters, *, page: int | str | None = 1, size: int = PAGE_SIZE,
                 today: dt.date | None = None) -> TrainerPage:
    """One page of the search, with each trainer's sessions delivered and booked ahead (one
    grouped query for the page, not one per row)."""
    today = today or timezone.localdate()
    size = max(1, min(PAGE_SIZE_MAX, size))
    current = Paginator(trainers(scope, filters), size).get_page(page)
    rows = list(current.object_list)
    counts = (visible(scope, TrainerBooking).filter(trainer_id__in=[row.pk for row in rows])
              .values("trainer_id")
              .annotate(delivered=Count("pk", filter=Q(held_on__lte=today)),
                        upcoming=Count("pk", filter=Q(held_on__gt=today))))
    delivered = {c["trainer_id"]: c["delivered"] for c in counts}
    upcoming = {c["trainer_id"]: c["upcoming"] for c in counts}
    for row in rows:
        row.delivered_count = delivered.get(row.pk, 0)  # type: ignore[attr-defined]
        row.upcoming_count = upcoming.get(row.pk, 0)  # type: ignore[attr-defined]
    return TrainerPage(page=current, rows=rows, delivered=delivered, upcoming=upcoming)


def trainer_get(scope: Scope, trainer_id: int) -> Trainer | None:
    if not isinstance(trainer_id, int) or not 0 < trainer_id < 2**62:
        return None
    return visible(scope, Trainer).select_related("division", "teacher__school").filter(pk=trainer_id).first()


def own_trainer(scope: Scope) -> Trainer | None:
    """A teacher's own trainer record, if they are in a pool."""
    if scope.teacher_id is None:
        return None
    return visible(scope, Trainer).filter(teacher_id=scope.teacher_id).first()


def bookings_of(scope: Scope, trainer: Trainer) -> list[TrainerBooking]:
    """Every booking of a trainer the viewer sees, by date (the project and session loaded)."""
    return list(visible(scope, TrainerBooking).filter(trainer=trainer)
                .select_related("session", "project", "project__organiser").order_by("held_on", "pk"))


@dataclass(frozen=True)
class Delivered:
    """The sessions a trainer delivered (booked, held on or before today) and their ratings, once
    the evaluation exists (`rated` is 0 until then)."""

    sessions: list[TrainerBooking]
    projects: int
    rated: int
    rating: Decimal | None


def delivered_of(bookings: list[TrainerBooking], today: dt.date | None = None) -> Delivered:
    today = today or timezone.localdate()
    held = [b for b in bookings if b.held_on <= today]
    ratings = [b.rating for b in held if b.rating is not None]
    average = (sum(ratings, Decimal(0)) / len(ratings)).quantize(Decimal("0.1")) if ratings else None
    return Delivered(sessions=held, projects=len({b.project_id for b in held}), rated=len(ratings), rating=average)


@dataclass(frozen=True)
class Development:
    """培训师培育: what a trainer who is a teacher completed as a learner, and their hours."""

    completed: list[Enrolment]
    hours_completed_projects: Decimal
    cycle_code: str
    cycle_counted: Decimal | None
    cycle_required: Decimal | None


def development_of(scope: Scope, trainer: Trainer, today: dt.date | None = None) -> Development | None:
    """None for a trainer who is not a teacher, or whose teacher record the viewer does not see."""
    if trainer.teacher_id is None:
        return None
    teacher = visible(scope, Teacher).filter(pk=trainer.teacher_id).first()
    if teacher is None:
        return None
    completed = list(visible(scope, Enrolment).filter(teacher_id=teacher.pk, state=EnrolmentState.COMPLETED)
                     .select_related("project", "project__organiser").order_by("-completed_at", "-pk"))
    hours = visible(scope, Enrolment).filter(teacher_id=teacher.pk, state=EnrolmentState.COMPLETED).aggregate(
        hours=Sum("project__hours"))["hours"] or Decimal(0)
    from credits.selectors import teacher_cycle_summary

    summary = teacher_cycle_summary(teacher=teacher, today=today or timezone.localdate())
    return Development(completed=completed, hours_completed_projects=hours,
                       cycle_code=summary.cycle.code if summary else "",
                       cycle_counted=summary.counted if summary else None,
                       cycle_required=summary.required if summary else None)


def level_history(scope: Scope, trainer: Trainer) -> list[TrainerLevelChange]:
    return list(visible(scope, TrainerLevelChange).filter(trainer=trainer).select_related("decided_by").order_by("pk"))


def unavailable_of(scope: Scope, trainer: Trainer) -> list[TrainerUnavailability]:
    return list(visible(scope, TrainerUnavailability).filter(trainer=trainer).order_by("starts_on", "pk"))


def what_may_be_done(scope: Scope, trainer: Trainer) -> dict[str, bool]:
    change = can(scope, Action.CHANGE, trainer)
    return {"change": change, "promote": can(scope, Action.DECIDE, trainer) and trainer.active
            and trainer.grade < Grade.CHIEF}


def pool_divisions(scope: Scope) -> QuerySet[Division]:
    """The divisions whose pools this administrator may add trainers to (their writable jurisdiction)."""
    if not scope.is_division:
        return Division.objects.none()
    rows = visible(scope, Division, Action.CHANGE)
    return rows.order_by("path")


# --- staffing sessions ------------------------------------------------------------------------

def session_for_staffing(scope: Scope, session_id: int) -> ProjectSession | None:
    """A session the viewer runs the project of (those who may book are among them)."""
    if not isinstance(session_id, int) or not 0 < session_id < 2**62:
        return None
    return (visible(scope, ProjectSession, Action.RUN).select_related("project", "project__organiser")
            .filter(pk=session_id).first())


def bookings_of_sessions(scope: Scope, sessions: list[ProjectSession]) -> dict[int, list[TrainerBooking]]:
    """Session id -> its bookings the viewer sees (one query)."""
    found: dict[int, list[TrainerBooking]] = {s.pk: [] for s in sessions}
    rows = (visible(scope, TrainerBooking).filter(session_id__in=list(found))
            .select_related("trainer", "trainer__division").order_by("session_id", "pk"))
    for booking in rows:
        found[booking.session_id].append(booking)
    return found


def may_book(scope: Scope, project: Project) -> bool:
    """Whether the viewer books trainers for this project at all: they may change the project and
    have a pool they may write (the two halves of the booking rule; each trainer is judged again
    when booked)."""
    return can(scope, Action.CHANGE, project) and visible(scope, Trainer, Action.CHANGE).exists()


def teacher_candidates(scope: Scope, q: str, limit: int = 20) -> list[Teacher]:
    """Teachers in post the viewer sees whose name starts with `q`, not yet in any pool (to add one)."""
    return list(visible(scope, Teacher).filter(name__startswith=q[:20], status="active", trainer__isnull=True)
                .select_related("school").order_by("name", "pk")[:limit])
