"""Reads of the guidance pages and API: teams, coverage, question lists and one question.
Every read starts from what the access policy lets the viewer see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from access.policy import visible
from access.rules import ancestor_paths
from access.scope import Scope
from guidance.constants import OPEN_STATES, QuestionState
from guidance.models import GuidanceTeam, Question, TeamMember, TeamSchool
from guidance.routing import Fallbacks
from org.constants import STAGE_LABELS
from org.models import School
from people.constants import SUBJECT_LABELS
from people.models import TeacherSubject

PAGE_SIZE = 50


def _count(model, **match) -> Coalesce:
    """A correlated count per team: a join would be narrowed by the policy's own join (an expert
    sees their teams through their membership row) and multiplied by the other counts."""
    rows = (model.objects.dangerously_unscoped().filter(team=OuterRef("pk"), **match).order_by()
            .values("team").annotate(n=Count("id")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def teams(scope: Scope, *, stage: str = "", subject: str = "", division_path: str = "") -> QuerySet[GuidanceTeam]:
    found = visible(scope, GuidanceTeam)
    if stage:
        found = found.filter(stage=stage)
    if subject:
        found = found.filter(subject=subject)
    if division_path:
        found = found.filter(division_path__startswith=division_path)
    return (found.select_related("division")
            .annotate(member_count=_count(TeamMember), school_count=_count(TeamSchool),
                      open_count=_count(Question, state__in=OPEN_STATES))
            .order_by("division_path", "stage", "subject", "name"))


def team_get(scope: Scope, team_id: int) -> GuidanceTeam | None:
    return visible(scope, GuidanceTeam).select_related("division").filter(pk=team_id).first()


def team_members(team: GuidanceTeam) -> QuerySet[TeamMember]:
    return (team.members.select_related("teacher__school")
            .annotate(open_count=Count("questions", filter=Q(questions__state__in=OPEN_STATES)),
                      total_count=Count("questions")))


def team_schools(team: GuidanceTeam) -> QuerySet[TeamSchool]:
    return team.pairings.select_related("school").order_by("school__code")


@dataclass
class Gap:
    school_id: int
    school_name: str
    stage: str
    subject: str
    teachers: int

    @property
    def label(self) -> str:
        return f"{STAGE_LABELS.get(self.stage, self.stage)}{SUBJECT_LABELS.get(self.subject, self.subject)}"


@dataclass
class Coverage:
    teachers: int = 0
    teachers_covered: int = 0
    schools: int = 0
    schools_covered: int = 0
    gaps: list[Gap] = field(default_factory=list)

    @property
    def teacher_percent(self) -> float:
        return round(100 * self.teachers_covered / self.teachers, 1) if self.teachers else 100.0


def coverage(scope: Scope) -> Coverage:
    """Whether every teacher (by stage and each subject taught) and every school of the viewer's
    jurisdiction has its one team, by the routing rule; the gaps, largest first."""
    combos = (visible(scope, TeacherSubject).filter(teacher__status="active")
              .values_list("teacher__school_id", "teacher__division_path", "teacher__stage", "subject")
              .annotate(n=Count("id")))
    rows = list(combos)
    school_ids = {row[0] for row in rows}
    paired = set(TeamSchool.objects.dangerously_unscoped().filter(school_id__in=school_ids, team__is_active=True)
                 .values_list("school_id", "stage", "subject"))
    paths = {above for _, path, _, _, _ in rows for above in ancestor_paths(path)}
    fallbacks = Fallbacks.load(paths, {row[2] for row in rows}, {row[3] for row in rows})
    result = Coverage()
    gaps_by_school: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for school_id, path, stage, subject, n in rows:
        result.teachers += n
        if (school_id, stage, subject) in paired or fallbacks.team_for(path, stage, subject) is not None:
            result.teachers_covered += n
        else:
            gaps_by_school[school_id].append((stage, subject, n))
    result.schools = len(school_ids)
    result.schools_covered = len(school_ids) - len(gaps_by_school)
    names = dict(visible(scope, School).filter(pk__in=list(gaps_by_school)).values_list("id", "name"))
    result.gaps = sorted((Gap(school_id, names.get(school_id, ""), stage, subject, n)
                          for school_id, missing in gaps_by_school.items() for stage, subject, n in missing),
                         key=lambda gap: (-gap.teachers, gap.school_name, gap.stage, gap.subject))
    return result


def uncovered_school_ids(scope: Scope, team: GuidanceTeam) -> list[int]:
    """Schools of the team's division with teachers of its stage and subject and no team for them."""
    gaps = coverage(scope).gaps
    inside = set(visible(scope, School).filter(division_path__startswith=team.division_path)
                 .values_list("id", flat=True))
    return sorted({gap.school_id for gap in gaps if gap.stage == team.stage and gap.subject == team.subject
                   and gap.school_id in inside})


def questions(scope: Scope, *, state: str = "", team_id: int | None = None, mine_to_answer: bool = False,
              overdue: bool = False, now=None, stage: str = "", subject: str = "") -> QuerySet[Question]:
    rows = visible(scope, Question).select_related("team", "assignee__teacher", "teacher")
    if state in QuestionState.values:
        rows = rows.filter(state=state)
    if stage:
        rows = rows.filter(stage=stage)
    if subject:
        rows = rows.filter(subject=subject)
    if team_id is not None:
        rows = rows.filter(team_id=team_id)
    if mine_to_answer:
        rows = rows.filter(assignee__teacher_id=scope.teacher_id)
    if overdue and now is not None:
        rows = rows.filter(state=QuestionState.WAITING, first_answered_at__isnull=True, due_at__lt=now)
    return rows.order_by("-created_at", "-id")


def my_questions(scope: Scope) -> QuerySet[Question]:
    return (visible(scope, Question).filter(teacher_id=scope.teacher_id).select_related("team")
            .order_by("-created_at", "-id"))


def question_get(scope: Scope, question_id: int) -> Question | None:
    return (visible(scope, Question).select_related("team__division", "assignee__teacher", "teacher__school",
                                                    "matched").filter(pk=question_id).first())


def thread(question: Question):
    return question.messages.select_related("author", "member__teacher").order_by("created_at", "id")
