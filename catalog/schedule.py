"""A teacher's side of the library: projects open to me (self-enrolment, seats or a
waiting list, my audience), and my schedule of sessions with attendance, also as
an iCalendar file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from access.policy import visible
from access.scope import Scope
from catalog.constants import EnrolmentState, ProjectState
from catalog.models import Attendance, Enrolment, Project, ProjectSession
from catalog.services import (
    TeacherFacts,
    audience_division_paths,
    audience_refusals,
    direct_county_paths,
    project_serving_scope,
)
from people.models import Teacher

SCHEDULED = (EnrolmentState.PENDING, EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)


def open_to_teacher(*, scope: Scope, teacher: Teacher, today: dt.date, limit: int = 200) -> list[Project]:
    """Published projects taking self-enrolment that the teacher may join and has not joined,
    soonest first. The audience rules are judged in Python on facts read once."""
    # In SQL first, where the teacher could be at all: projects of the units above them (a
    # project without a division rule serves its organiser's jurisdiction) or naming divisions.
    parts = teacher.division_path.rstrip(".").split(".")
    above = [".".join(parts[:n]) + "." for n in range(1, len(parts) + 1)]
    reachable = (Q(division_path__in=above) & (Q(organiser_school__isnull=True) | Q(organiser_school_id=teacher.school_id))) \
        | Q(audience__has_key="divisions")
    candidates = list(visible(scope, Project).filter(reachable, state=ProjectState.OPEN, self_enrolment=True,
                                                     ends_on__gte=today)
                      .exclude(enrolments__teacher=teacher).select_related("organiser")
                      .order_by("starts_on", "pk")[:limit * 5])
    facts = TeacherFacts.of(teacher, today)
    paths = audience_division_paths(p.audience for p in candidates)
    direct = direct_county_paths()
    eligible = [p for p in candidates
                if not audience_refusals(p.audience or {}, facts, today=today, division_paths=paths,
                                         serving=project_serving_scope(p, direct_paths=direct))]
    return eligible[:limit]


@dataclass(frozen=True)
class ScheduledSession:
    session: ProjectSession
    enrolment_state: str
    attended: bool


def teacher_schedule(*, scope: Scope, teacher_id: int) -> list[ScheduledSession]:
    """Sessions of the projects where the teacher holds a seat or has completed, by date."""
    mine = visible(scope, Enrolment).filter(teacher_id=teacher_id, state__in=SCHEDULED)
    enrolments = mine.filter(project=OuterRef("project"))
    attended = visible(scope, Attendance).filter(session=OuterRef("pk"), enrolment__teacher_id=teacher_id)
    sessions = (visible(scope, ProjectSession).filter(Exists(enrolments))
                .annotate(attended=Exists(attended))
                .select_related("project", "project__organiser").order_by("held_on", "project_id", "number"))
    states = dict(mine.values_list("project_id", "state"))
    return [ScheduledSession(s, states.get(s.project_id, ""), s.attended) for s in sessions]  # type: ignore[attr-defined]


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets continue on lines starting with a space,
    never splitting a UTF-8 character."""
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not parts else 74):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return [parts[0], *(" " + part for part in parts[1:])]


def schedule_ics(items: list[ScheduledSession], *, host: str) -> str:
    """An iCalendar (RFC 5545) file of all-day events, one per session."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Yanxiu//研修平台//ZH", "CALSCALE:GREGORIAN",
             "X-WR-CALNAME:我的培训日程"]
    for item in items:
        session, project = item.session, item.session.project
        lines += [
            "BEGIN:VEVENT", f"UID:session-{session.pk}@{host}", f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{session.held_on:%Y%m%d}",
            f"DTEND;VALUE=DATE:{session.held_on + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_text(f'{project.title} 第{session.number}场')}",
            f"DESCRIPTION:{_ics_text(f'{session.title}（{project.organiser.name}，{project.get_mode_display()}）')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n"
