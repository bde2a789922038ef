"""Expert process supervision (视导), outcome quality reviews (成果评审) and stakeholder ratings
(相关利益群体评价) of a project, and the experts named to supervise it.

- The organiser (whoever may change the project) names experts, or county and higher
  administrators, as the project's 视导专家, and removes one who has recorded nothing on it.
- A visit or an outcome review is recorded by a named supervisor of the project, or by an
  administrator who may change the project; never by the staff of its implementing institution.
- A stakeholder rating is one per unit: a school whose teachers were enrolled, a county or city
  education bureau whose teachers were enrolled (the organising unit does not rate its own
  project), from the project's first day.
- Every record is scored on a published rubric of its kind (one of the project's division or a
  division above it): an integer from 0 to the maximum for every criterion; the total is their
  sum over the sum of the maxima, on 0–100, one decimal.
- A visit's date lies between VISIT_BEFORE_DAYS before the project starts and VISIT_AFTER_DAYS
  after it ends, and not in the future.
- The author edits their record for EDIT_DAYS days after recording it; then it is final.

Every write asks the access policy, runs in one transaction with its audit row and, refused, is a
Chinese message that writes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from accounts.models import Role, User
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import EnrolmentState, ProjectState
from catalog.models import Enrolment, Project
from core.uploads import JPEG, PDF, PNG, ZIP, upload_problem
from evaluation.constants import InstrumentState, OutcomeKind, RubricKind, StakeholderUnit
from evaluation.models import OutcomeReview, Rubric, StakeholderRating, SupervisionVisit, Supervisor
from notifications import evaluation_events
from org.models import Division

# A visit may come a week before the first day (the arrangements) and up to 30 days after the last
# (a follow-up visit to the trainees' schools).
VISIT_BEFORE_DAYS = 7
VISIT_AFTER_DAYS = 30
# The author may correct their record this long after recording it; then it is final.
EDIT_DAYS = 7
NOTE_MAX = 2000
TITLE_MAX = 200
# Who may be named a project's supervisor.
SUPERVISOR_ROLES = frozenset({Role.EXPERT, Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN})
# Enrolments that make a unit a stakeholder of the project.
ATTENDED = (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)

KINDS = {"visit": SupervisionVisit, "outcome": OutcomeReview, "stakeholder": StakeholderRating}
AUTHOR = {"visit": "visitor", "outcome": "reviewer", "stakeholder": "rater"}


def _author(scope: Scope) -> int:
    if not scope.user_id:
        raise Forbidden("需要以本人账户登录后评价")
    return scope.user_id


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


# --- scores -------------------------------------------------------------------------------------

def score_total(rubric: Rubric, scores: dict[str, int]) -> Decimal:
    """The criteria's sum over the sum of their maxima, on 0–100, one decimal (half up)."""
    top = sum(int(item["max"]) for item in rubric.criteria)
    got = sum(scores[item["code"]] for item in rubric.criteria)
    return (Decimal(got) * 100 / Decimal(top)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def clean_scores(rubric: Rubric, scores: Any) -> dict[str, int]:
    """A score for every criterion of the rubric, an integer from 0 to its maximum; nothing else."""
    if not isinstance(scores, dict):
        raise ValidationError({"scores": "请为每一项评分细则打分"})
    problems: list[str] = []
    clean: dict[str, int] = {}
    codes = {item["code"] for item in rubric.criteria}
    for item in rubric.criteria:
        value = scores.get(item["code"])
        if isinstance(value, str):
            text = value.strip()
            value = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else (None if not text else value)
        if value is None:
            problems.append(f"请为「{item['label']}」打分")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= int(item["max"]):
            problems.append(f"「{item['label']}」的得分应为 0–{item['max']} 的整数")
        else:
            clean[item["code"]] = value
    unknown = sorted(str(code) for code in scores if code not in codes)
    if unknown:
        problems.append(f"量规中没有这些评分项：{'、'.join(unknown)}")
    if problems:
        raise ValidationError({"scores": problems})
    return clean


def _rubric(scope: Scope, project: Project, kind: str, rubric_id: Any) -> Rubric:
    """The published rubric of `kind` the record is scored on: one the viewer sees, of the project's
    division or a division above it. Without one there is no score."""
    label = RubricKind(kind).label
    refusal = f"请选择已发布的「{label}」评分量规：没有量规不能评分"
    if not isinstance(rubric_id, int) or isinstance(rubric_id, bool) or not 0 < rubric_id < 2**62:
        raise ValidationError({"rubric": refusal})
    rubric = visible(scope, Rubric).filter(pk=rubric_id, kind=kind, state=InstrumentState.PUBLISHED).first()
    if rubric is None or not project.division_path.startswith(rubric.division_path):
        raise ValidationError({"rubric": refusal})
    return rubric


def rubrics_for(scope: Scope, project: Project, kind: str) -> list[Rubric]:
    """The published rubrics of `kind` the viewer may score this project on."""
    rows = visible(scope, Rubric).filter(kind=kind, state=InstrumentState.PUBLISHED).order_by("code", "-version")
    return [row for row in rows if project.division_path.startswith(row.division_path)]


def _note(note: Any) -> str:
    text = str(note or "").strip()
    if len(text) > NOTE_MAX:
        raise ValidationError({"note": f"意见不超过{NOTE_MAX}个字"})
    return text


# --- who may do what ------------------------------------------------------------------------------

def may_score(scope: Scope, project: Project) -> bool:
    """A named supervisor of the project, or an administrator who may change it; never the staff
    of an institution, never a draft project (the policy's rule)."""
    return can(scope, Action.SCORE, project)


def _scoring_project(scope: Scope, project_id: int) -> Project:
    project = fetch(scope, Project, project_id, select_related=("organiser",))
    if not may_score(scope, project):
        if project.state == ProjectState.DRAFT:
            raise ValidationError({"project": "项目尚未发布，不能评价"})
        raise Forbidden("只有本项目的视导专家或项目主管部门的管理员可以记录视导和成果评审")
    return project


@dataclass(frozen=True)
class Unit:
    """The unit a stakeholder speaks for."""

    kind: str
    key: str
    label: str


def stakeholder_unit(scope: Scope, project: Project) -> Unit | None:
    """The unit the viewer rates the project for, if it is a stakeholder of it: a school whose
    teachers were enrolled, a county or city bureau whose teachers were enrolled, not the unit
    that organises the project."""
    attended = visible(scope, Enrolment).filter(project=project, state__in=ATTENDED)
    if scope.role == Role.SCHOOL_ADMIN and scope.school_id:
        if project.organiser_school_id == scope.school_id:
            return None
        if attended.filter(teacher__school_id=scope.school_id).exists():
            return Unit(StakeholderUnit.SCHOOL, f"school:{scope.school_id}", scope.label)
        return None
    kinds: dict[str, str] = {Role.COUNTY_ADMIN: StakeholderUnit.COUNTY, Role.CITY_ADMIN: StakeholderUnit.CITY}
    kind = kinds.get(scope.role)
    if kind is None or not scope.path:
        return None
    division = Division.objects.filter(path=scope.path).first()
    if division is None or (project.organiser_id == division.pk and project.organiser_school_id is None):
        return None
    if attended.filter(teacher__division_path__startswith=division.path).exists():
        return Unit(kind, f"division:{division.code}", f"{division.name}教育行政部门")
    return None


def account_label(user) -> str:
    """How an account is named on the pages: the teacher's name for an expert, else the account's."""
    teacher = getattr(user, "teacher", None)
    return teacher.name if teacher is not None else (user.get_full_name() or user.username)


# --- supervisors ------------------------------------------------------------------------------------

def supervisor_add(*, scope: Scope, actor, project_id: int, username: str, ip: str | None = None) -> Supervisor:
    """Name an expert (or a county or higher administrator) as the project's 视导专家."""
    with transaction.atomic():
        project = fetch(scope, Project, project_id, Action.CHANGE, lock=True)
        row = Supervisor(project=project, assigned_by=_actor(actor))
        if not can(scope, Action.CHANGE, row):
            raise Forbidden("只有项目主管部门的管理员可以指定视导专家")
        name = str(username or "").strip()
        # Accounts are looked up by their exact name; the same answer whether it is missing or of
        # another role, so the form tells nothing of accounts it may not name.
        user = User.objects.filter(username=name, is_active=True, role__in=SUPERVISOR_ROLES).first() if name else None
        if user is None:
            raise ValidationError({"user": "未找到该账户：视导专家须为专家或县级及以上管理员的有效账户（请填写准确的用户名）"})
        row.user = user
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"user": f"{account_label(user)} 已是本项目的视导专家"}) from None
        audit_record(action=Audit.SUPERVISOR_ADD, actor=_actor(actor), ip=ip, scope_path=project.division_path,
                     object_type="project", object_id=project.pk, detail={"user": user.pk, "role": user.role})
        evaluation_events.supervisor_named(row, project)
    return row


def supervisor_remove(*, scope: Scope, actor, supervisor_id: int, project_id: int | None = None,
                      ip: str | None = None) -> None:
    """Withdraw a supervisor who has recorded nothing on the project (their records keep them)."""
    with transaction.atomic():
        row = fetch(scope, Supervisor, supervisor_id, Action.CHANGE, select_related=("project",), lock=True)
        if project_id is not None and row.project_id != project_id:
            raise ValidationError({"user": "该视导专家不属于本项目"})
        # Whoever may change the project oversees it, so its records are all visible here.
        recorded = (visible(scope, SupervisionVisit).filter(project_id=row.project_id, visitor_id=row.user_id).exists()
                    or visible(scope, OutcomeReview).filter(project_id=row.project_id,
                                                            reviewer_id=row.user_id).exists())
        if recorded:
            raise ValidationError({"user": "该专家已有视导或成果评审记录，不能取消"})
        audit_record(action=Audit.SUPERVISOR_REMOVE, actor=_actor(actor), ip=ip,
                     scope_path=row.project.division_path, object_type="project", object_id=row.project_id,
                     detail={"user": row.user_id})
        row.delete()


# --- visits and outcome reviews -----------------------------------------------------------------------

def _visit_date(project: Project, visited_on: Any, today: dt.date) -> dt.date:
    if isinstance(visited_on, str):
        try:
            visited_on = dt.date.fromisoformat(visited_on.strip())
        except ValueError:
            visited_on = None
    if not isinstance(visited_on, dt.date):
        raise ValidationError({"visited_on": "请填写视导日期（YYYY-MM-DD）"})
    first = project.starts_on - dt.timedelta(days=VISIT_BEFORE_DAYS)
    last = project.ends_on + dt.timedelta(days=VISIT_AFTER_DAYS)
    if not first <= visited_on <= last:
        raise ValidationError({"visited_on": f"视导日期应在 {first} 至 {last} 之间（项目开始前{VISIT_BEFORE_DAYS}天"
                                             f"至结束后{VISIT_AFTER_DAYS}天）"})
    if visited_on > today:
        raise ValidationError({"visited_on": "视导日期不能晚于今天"})
    return visited_on


def visit_record(*, scope: Scope, actor, project_id: int, rubric_id: Any, scores: Any, visited_on: Any,
                 note: str = "", ip: str | None = None, today: dt.date | None = None) -> SupervisionVisit:
    today = _today(today)
    with transaction.atomic():
        project = _scoring_project(scope, project_id)
        rubric = _rubric(scope, project, RubricKind.VISIT, rubric_id)
        clean = clean_scores(rubric, scores)
        row = SupervisionVisit.objects.create(
            project=project, rubric=rubric, scores=clean, total=score_total(rubric, clean), note=_note(note),
            visitor_id=_author(scope), visited_on=_visit_date(project, visited_on, today))
        audit_record(action=Audit.VISIT_RECORD, actor=_actor(actor), ip=ip, scope_path=project.division_path,
                     object_type="supervision_visit", object_id=row.pk,
                     detail={"project": project.pk, "rubric": rubric.pk, "total": str(row.total),
                             "visited_on": row.visited_on.isoformat()})
    return row


def _outcome_fields(title: Any, kind: Any) -> tuple[str, str]:
    problems = {}
    text = str(title or "").strip()
    if not text:
        problems["title"] = "请填写成果名称"
    elif len(text) > TITLE_MAX:
        problems["title"] = f"成果名称不超过{TITLE_MAX}个字"
    if kind not in OutcomeKind.values:
        problems["kind"] = "请选择成果类型（教学设计、研修报告、教学案例、课堂实录或其他成果）"
    if problems:
        raise ValidationError(problems)
    return text, str(kind)


def _started(project: Project, today: dt.date, what: str) -> None:
    if today < project.starts_on:
        raise ValidationError({"project": f"项目{project.starts_on}开始，开始后才能{what}"})


# The outcome's file: documents, slides and pictures, each recognised by its first bytes, not only its name.
OUTCOME_FILE_TYPES = {".pdf": PDF, ".docx": ZIP, ".pptx": ZIP, ".xlsx": ZIP, ".jpg": JPEG, ".jpeg": JPEG, ".png": PNG}


def outcome_file_problem(upload) -> str | None:
    """Why an outcome file is refused (None: accepted)."""
    return upload_problem(upload, kinds=OUTCOME_FILE_TYPES, label="成果文件",
                          accepted="PDF、Word（docx）、PowerPoint（pptx）、Excel（xlsx）、JPG 或 PNG")


def _attach_file(row: OutcomeReview, upload) -> None:
    if (problem := outcome_file_problem(upload)) is not None:
        raise ValidationError({"file": problem})
    row.file_name = str(upload.name)[-200:]
    row.file.save(upload.name, upload, save=False)


def outcome_review_record(*, scope: Scope, actor, project_id: int, rubric_id: Any, scores: Any, title: Any,
                          kind: Any, note: str = "", file=None, ip: str | None = None,
                          today: dt.date | None = None) -> OutcomeReview:
    """A review of one outcome of the project, with the outcome's file when there is one."""
    today = _today(today)
    if file is not None and (problem := outcome_file_problem(file)) is not None:
        raise ValidationError({"file": problem})
    with transaction.atomic():
        project = _scoring_project(scope, project_id)
        _started(project, today, "评审培训成果")
        rubric = _rubric(scope, project, RubricKind.OUTCOME, rubric_id)
        clean = clean_scores(rubric, scores)
        text, kind = _outcome_fields(title, kind)
        row = OutcomeReview(project=project, rubric=rubric, scores=clean, total=score_total(rubric, clean),
                            note=_note(note), title=text, kind=kind, reviewer_id=_author(scope))
        if file is not None:
            _attach_file(row, file)
        row.save(force_insert=True)
        audit_record(action=Audit.OUTCOME_REVIEW, actor=_actor(actor), ip=ip, scope_path=project.division_path,
                     object_type="outcome_review", object_id=row.pk,
                     detail={"project": project.pk, "rubric": rubric.pk, "total": str(row.total), "kind": kind,
                             "file": row.file_name})
    return row


def outcome_file_attach(*, scope: Scope, actor, review_id: int, file, ip: str | None = None) -> OutcomeReview:
    """The author adds (or replaces) the outcome's file within the edit period, like any correction."""
    if file is None:
        raise ValidationError({"file": "请选择成果文件"})
    with transaction.atomic():
        row = fetch(scope, OutcomeReview, review_id, Action.CHANGE, select_related=("project",), lock=True)
        if not is_editable(row):
            raise ValidationError({"__all__": f"记录已超过{EDIT_DAYS}天修改期，已定稿，不能修改"})
        before = row.file_name
        _attach_file(row, file)
        row.save(update_fields=["file", "file_name"])
        audit_record(action=Audit.OUTCOME_REVIEW_UPDATE, actor=_actor(actor), ip=ip,
                     scope_path=row.project.division_path, object_type=OBJECT_TYPE["outcome"], object_id=row.pk,
                     detail={"project": row.project_id, "changed": {"file": [before, row.file_name]}})
    return row


def outcome_file_get(scope: Scope, review_id: int) -> OutcomeReview:
    """A review whose file the viewer may open: those who see the review (who oversee the project, its author)."""
    row = fetch(scope, OutcomeReview, review_id)
    if not row.file:
        raise NotVisible("该成果评审没有上传成果文件")
    return row


# --- stakeholder ratings --------------------------------------------------------------------------------

def stakeholder_rate(*, scope: Scope, actor, project_id: int, rubric_id: Any, scores: Any, note: str = "",
                     ip: str | None = None, today: dt.date | None = None) -> StakeholderRating:
    today = _today(today)
    with transaction.atomic():
        project = fetch(scope, Project, project_id, select_related=("organiser",))
        unit = stakeholder_unit(scope, project) if project.state != ProjectState.DRAFT else None
        if unit is None:
            raise Forbidden("只有参训教师所在学校、县（市）教育行政部门可以评价本项目")
        _started(project, today, "评价")
        rubric = _rubric(scope, project, RubricKind.STAKEHOLDER, rubric_id)
        clean = clean_scores(rubric, scores)
        row = StakeholderRating(project=project, rubric=rubric, scores=clean, total=score_total(rubric, clean),
                                note=_note(note), unit_kind=unit.kind, unit_key=unit.key, unit_label=unit.label[:100],
                                rater_id=_author(scope))
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"unit": f"{unit.label}已评价过该项目（每个单位评价一次，可在{EDIT_DAYS}天内修改）"}) from None
        audit_record(action=Audit.STAKEHOLDER_RATE, actor=_actor(actor), ip=ip, scope_path=project.division_path,
                     object_type="stakeholder_rating", object_id=row.pk,
                     detail={"project": project.pk, "unit": unit.key, "rubric": rubric.pk, "total": str(row.total)})
    return row


# --- edits by the author ----------------------------------------------------------------------------------

UPDATE_AUDIT = {"visit": Audit.VISIT_UPDATE, "outcome": Audit.OUTCOME_REVIEW_UPDATE,
                "stakeholder": Audit.STAKEHOLDER_UPDATE}
OBJECT_TYPE = {"visit": "supervision_visit", "outcome": "outcome_review", "stakeholder": "stakeholder_rating"}


def editable_until(row) -> dt.datetime:
    return row.created_at + dt.timedelta(days=EDIT_DAYS)


def is_editable(row, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) < editable_until(row)


def record_update(*, scope: Scope, actor, kind: str, record_id: int, changes: dict[str, Any],
                  ip: str | None = None, today: dt.date | None = None):
    """The author corrects their record within EDIT_DAYS of recording it: the scores (on the same
    rubric), the note, a visit's date, an outcome's title and kind."""
    model = KINDS.get(kind)
    if model is None:
        raise ValidationError({"kind": "未知的评价记录类型"})
    allowed = {"scores", "note"} | ({"visited_on"} if kind == "visit" else set()) | (
        {"title", "kind"} if kind == "outcome" else set())
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({"__all__": f"不可修改的字段：{'、'.join(sorted(unknown))}"})
    today = _today(today)
    with transaction.atomic():
        row = fetch(scope, model, record_id, Action.CHANGE, select_related=("project", "rubric"), lock=True)
        if not is_editable(row):
            raise ValidationError({"__all__": f"记录已超过{EDIT_DAYS}天修改期，已定稿，不能修改"})
        before = {"scores": row.scores, "note": row.note}
        if "scores" in changes:
            row.scores = clean_scores(row.rubric, changes["scores"])
            row.total = score_total(row.rubric, row.scores)
        if "note" in changes:
            row.note = _note(changes["note"])
        if kind == "visit":
            before["visited_on"] = row.visited_on.isoformat()
            if "visited_on" in changes:
                row.visited_on = _visit_date(row.project, changes["visited_on"], today)
        if kind == "outcome":
            before |= {"title": row.title, "kind": row.kind}
            title, outcome_kind = _outcome_fields(changes.get("title", row.title), changes.get("kind", row.kind))
            row.title, row.kind = title, outcome_kind
        after = {key: getattr(row, key) for key in before}
        if kind == "visit":
            after["visited_on"] = row.visited_on.isoformat()
        changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        if changed:
            row.save()
            audit_record(action=UPDATE_AUDIT[kind], actor=_actor(actor), ip=ip, scope_path=row.project.division_path,
                         object_type=OBJECT_TYPE[kind], object_id=row.pk,
                         detail={"project": row.project_id, "total": str(row.total), "changed": changed})
    return row
