"""Nomination (推荐参训): an administrator puts teachers of their own jurisdiction forward
for a project. Each teacher is judged on their own — a seat, the waiting list, already on
the list, or refused with every reason in Chinese — through `services.enrol`; the
nominations made are audited together.

Teachers are found through the nominator's scope only: a teacher outside it is not found
(the pages and the API answer 404), one the nominator may only read (a city's 省直管县)
is refused (403), and in either case nobody is nominated."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet

from access.policy import Action as Can
from access.policy import can
from access.scope import Scope
from accounts.models import ADMIN_ROLES
from audit.actions import Action
from audit.services import audit_record_many
from catalog.constants import EnrolmentState
from catalog.models import Project
from catalog.services import enrol
from core.requests import error_messages
from notifications import events as notice_events
from people.id_lookup import teacher_id_lookup
from people.models import Teacher
from people.selectors import TeacherFilters, teacher_queryset

MAX_NOMINEES = 200
SEARCH_LIMIT = 50
# Already on the project's list: nominating again changes nothing.
ON_THE_LIST = (EnrolmentState.PENDING, EnrolmentState.ENROLLED, EnrolmentState.WAITING, EnrolmentState.COMPLETED)
OUTCOME_LABELS = {
    EnrolmentState.ENROLLED: "已录取", EnrolmentState.PENDING: "已报名，待主办单位审核",
    EnrolmentState.WAITING: "名额已满，已进入候补名单", "already": "已在名单中", "refused": "未能推荐",
}


class NomineeNotFound(LookupError):
    """A teacher id that is not a teacher of the nominator's jurisdiction."""


@dataclass
class NominationResult:
    teacher_id: int
    name: str
    school: str
    outcome: str  # enrolled | pending | waiting | already | refused
    state: str = ""  # the enrolment's state afterwards, if there is one
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.outcome == "already":
            return f"已在名单中（{EnrolmentState(self.state).label}）"
        return OUTCOME_LABELS[self.outcome]


def may_nominate(user) -> bool:
    return user.role in ADMIN_ROLES


def nominee_search(*, scope: Scope, actor, q: str, ip: str | None = None, limit: int = SEARCH_LIMIT) -> QuerySet[Teacher]:
    """Active teachers of the viewer's jurisdiction whose name starts with `q`, or whose ID
    number it is: that search is an audited lookup, limited per account (Throttled)."""
    if not q.strip():
        return teacher_queryset(scope=scope).none()
    q = q[:50]
    lookup = teacher_id_lookup(scope=scope, actor=actor, q=q, channel="nominate", ip=ip)
    return (teacher_queryset(scope=scope, filters=TeacherFilters(q=q, status="active", id_lookup=lookup))
            .select_related("school").order_by("name", "id")[:limit])


def nominees_get(*, scope: Scope, teacher_ids: list[int]) -> list[Teacher]:
    """The teachers, in the order given, all of the viewer's jurisdiction and changeable by
    them; raises NomineeNotFound (→ 404) or PermissionDenied (→ 403) otherwise."""
    ids = list(dict.fromkeys(teacher_ids))
    if not ids:
        raise ValidationError({"teacher_ids": "请选择要推荐的教师"})
    if len(ids) > MAX_NOMINEES:
        raise ValidationError({"teacher_ids": f"一次最多推荐 {MAX_NOMINEES} 人"})
    found = {t.pk: t for t in teacher_queryset(scope=scope).filter(pk__in=ids).select_related("school")}
    if len(found) != len(ids):
        raise NomineeNotFound("教师不存在或不在本辖区")
    if not all(can(scope, Can.NOMINATE, t) for t in found.values()):
        raise PermissionDenied("本级对其中的教师只有查看权限，不能推荐")
    return [found[i] for i in ids]


def project_nominate(*, scope: Scope, actor, project: Project, teachers: list[Teacher],
                     ip: str | None = None) -> list[NominationResult]:
    """Nominate each teacher; one teacher's refusal does not stop the others."""
    if not may_nominate(actor):
        raise PermissionDenied("只有管理员可以推荐教师")
    if not all(can(scope, Can.NOMINATE, t) for t in teachers):
        raise PermissionDenied("只能推荐本辖区的教师")
    on_list = dict(project.enrolments.filter(teacher__in=teachers, state__in=ON_THE_LIST)
                   .values_list("teacher_id", "state"))
    results, audited, placed = [], [], []
    for teacher in teachers:
        result = NominationResult(teacher_id=teacher.pk, name=teacher.name, school=teacher.school.name, outcome="")
        if teacher.pk in on_list:
            result.outcome, result.state = "already", on_list[teacher.pk]
        else:
            try:
                enrolment = enrol(scope=scope, project_id=project.pk, teacher=teacher, actor=actor, nominated=True)
            except ValidationError as error:
                result.outcome = "refused"
                result.reasons = error_messages(error)
            else:
                result.outcome = result.state = enrolment.state
                audited.append({"action": Action.NOMINATE, "actor": actor, "ip": ip, "scope_path": teacher.division_path,
                                "object_type": "enrolment", "object_id": enrolment.pk,
                                "detail": {"project": project.pk, "teacher": teacher.pk, "state": enrolment.state}})
        results.append(result)
        if result.outcome in ("enrolled", "pending", "waiting"):
            placed.append(enrolment)
    audit_record_many(audited)
    notice_events.enrolments_nominated(placed, project, actor)
    return results
