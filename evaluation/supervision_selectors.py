"""Reads of supervision: a project's 过程评价 (visits, outcome reviews, stakeholder ratings, their
means, and what the viewer may add), an expert's own supervisions, the rubrics a viewer sees.
Everything goes through the access policy: those who oversee the project (the administrators over
its organiser, its implementing institution) read all of its records; a supervisor or a rater
reads the records they wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q

from access.errors import Forbidden
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from accounts.models import Role, User
from catalog.models import Project
from evaluation import supervision
from evaluation.constants import InstrumentState, RubricKind
from evaluation.models import OutcomeReview, Rubric, StakeholderRating, SupervisionVisit, Supervisor


def oversees(scope: Scope, project: Project) -> bool:
    """Whether the viewer reads all of the project's evaluation (the policy's oversight rule)."""
    return can(scope, Action.VIEW, Supervisor(project=project))


def score_lines(row) -> list[dict]:
    """A record's score per criterion of its rubric, for the pages."""
    return [{"code": item["code"], "label": item["label"], "max": item["max"], "score": row.scores.get(item["code"])}
            for item in row.rubric.criteria]


def _dress(rows: list, author: str) -> list:
    for row in rows:
        row.lines = score_lines(row)
        row.author_label = supervision.account_label(getattr(row, author))
        row.editable = supervision.is_editable(row)
    return rows


def mean(rows) -> Decimal | None:
    totals = [row.total for row in rows]
    if not totals:
        return None
    return (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.1"))


@dataclass
class ProjectEvaluation:
    project: Project
    oversee: bool
    visits: list = field(default_factory=list)
    reviews: list = field(default_factory=list)
    ratings: list = field(default_factory=list)
    supervisors: list = field(default_factory=list)
    may_manage: bool = False
    may_score: bool = False
    unit: supervision.Unit | None = None
    unit_rated: bool = False
    rubrics: dict[str, list] = field(default_factory=dict)

    @property
    def means(self) -> dict[str, Decimal | None]:
        return {"visit": mean(self.visits), "outcome": mean(self.reviews), "stakeholder": mean(self.ratings)}


def project_evaluation(scope: Scope, project_id: int) -> ProjectEvaluation:
    """A project's 过程评价 as this viewer may read it; 403 for one who neither oversees the project,
    supervises it, speaks for a unit whose teachers attended it nor wrote a record on it."""
    project = fetch(scope, Project, project_id, select_related=("organiser", "organiser_school", "institution"))
    found = ProjectEvaluation(project=project, oversee=oversees(scope, project))
    found.may_manage = can(scope, Action.CHANGE, Supervisor(project=project))
    found.may_score = supervision.may_score(scope, project)
    found.unit = supervision.stakeholder_unit(scope, project) if project.state != "draft" else None
    found.visits = _dress(list(visible(scope, SupervisionVisit).filter(project=project)
                               .select_related("visitor__teacher", "rubric").order_by("-visited_on", "-pk")), "visitor")
    found.reviews = _dress(list(visible(scope, OutcomeReview).filter(project=project)
                                .select_related("reviewer__teacher", "rubric").order_by("-created_at", "-pk")),
                           "reviewer")
    found.ratings = _dress(list(visible(scope, StakeholderRating).filter(project=project)
                                .select_related("rater__teacher", "rubric").order_by("unit_kind", "unit_label")),
                           "rater")
    if found.unit is not None:
        found.unit_rated = StakeholderRating.objects.visible_to(scope).filter(
            project=project, unit_key=found.unit.key).exists() or any(r.unit_key == found.unit.key for r in found.ratings)
    if found.oversee:
        found.supervisors = list(visible(scope, Supervisor).filter(project=project)
                                 .select_related("user__teacher").order_by("assigned_at", "pk"))
    mine = (found.may_score or found.unit is not None or found.visits or found.reviews or found.ratings)
    if not (found.oversee or mine):
        raise Forbidden("只有项目主管部门、实施机构、本项目的视导专家和参训教师所在单位可以查看过程评价")
    if found.may_score or found.unit is not None:
        rubrics = list(visible(scope, Rubric).filter(state=InstrumentState.PUBLISHED).order_by("code", "-version"))
        for kind in RubricKind.values:
            found.rubrics[kind] = [r for r in rubrics if r.kind == kind
                                   and project.division_path.startswith(r.division_path)]
    return found


def record_get(scope: Scope, kind: str, record_id: int):
    """One of the viewer's records to edit (the author only: the policy's change rule)."""
    model = supervision.KINDS[kind]
    return fetch(scope, model, record_id, Action.CHANGE, select_related=("project", "rubric"))


@dataclass
class Supervision:
    row: Supervisor
    visits: int
    reviews: int


def my_supervisions(scope: Scope) -> list[Supervision]:
    """The projects the viewer was named to supervise, with how many visits and reviews they
    recorded on each (three queries)."""
    if not scope.user_id:
        return []
    rows = list(Supervisor.objects.visible_to(scope).filter(user_id=scope.user_id)
                .select_related("project__organiser", "project__institution").order_by("-project__starts_on", "pk"))
    projects = [row.project_id for row in rows]
    visits = dict(visible(scope, SupervisionVisit).filter(visitor_id=scope.user_id, project_id__in=projects)
                  .values_list("project_id").annotate(n=Count("pk")).values_list("project_id", "n"))
    reviews = dict(visible(scope, OutcomeReview).filter(reviewer_id=scope.user_id, project_id__in=projects)
                   .values_list("project_id").annotate(n=Count("pk")).values_list("project_id", "n"))
    return [Supervision(row, visits.get(row.project_id, 0), reviews.get(row.project_id, 0)) for row in rows]


def rubric_list(scope: Scope, *, kind: str = "", state: str = "") -> list[Rubric]:
    rows = visible(scope, Rubric).select_related("division")
    if kind in RubricKind.values:
        rows = rows.filter(kind=kind)
    if state in InstrumentState.values:
        rows = rows.filter(state=state)
    return list(rows.order_by("kind", "code", "-version")[:500])


def rubric_get(scope: Scope, rubric_id: int) -> Rubric:
    return fetch(scope, Rubric, rubric_id, select_related=("division",))


def may_change_rubric(scope: Scope, rubric: Rubric) -> bool:
    return can(scope, Action.CHANGE, rubric)


def supervisor_candidates(scope: Scope, project: Project) -> list[User]:
    """Experts of the organiser's jurisdiction, for the pick-list (any expert or county or higher
    administrator may still be named by their exact account name)."""
    found = (visible(scope, User).filter(role=Role.EXPERT, is_active=True)
             .exclude(Q(supervising__project=project)).select_related("teacher").order_by("username"))
    return list(found[:200])
