"""Writes to accreditations: apply (with evidence), add evidence, submit, decide (approve with a
term, return, refuse; on a renewal approve or refuse), renew, suspend, reinstate, revoke, and the
system's daily expiry. Every write asks the access policy, moves the row only through the state
machine (institutions/machine.py), records a history event and an audit row in the same
transaction, and tells the applicant of every decision. Refusals are Chinese messages and write
nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch
from access.rules import ancestor_paths
from access.scope import Scope
from audit.services import audit_record
from credits.claims import evidence_problem
from institutions import machine
from institutions.constants import (
    EVIDENCE_MAX_FILES,
    LEVEL_RANK,
    SCOPE_CATEGORIES,
    SCOPE_LEVELS,
    SCOPE_MODES,
)
from institutions.constants import AccreditationState as S
from institutions.models import Accreditation, AccreditationEvidence, CriteriaSet
from notifications.services import notify
from org.constants import DivisionLevel
from org.models import Division, Institution

ACCREDITATION_KIND = "accreditation.decision"
PROJECTS_HELD_KIND = "accreditation.projects_held"
# Moves that end an institution's right to implement: its published projects stop enrolling and
# running (the gate, institutions/gate.py) and their organisers are told which.
STOPS = frozenset({"suspend", "revoke", "expire", "sanction_suspend", "sanction_revoke"})
DIVISION_RANK: dict[str, int] = {DivisionLevel.PROVINCE: 3, DivisionLevel.CITY: 2, DivisionLevel.COUNTY: 1}


# --- who decides ---------------------------------------------------------------------------

def accrediting_division(institution: Institution, levels: Sequence[str]) -> Division:
    """The division that accredits `institution` for `levels`: the province for 省级 scope and for
    every institution of a 省直管县 (as its plans go to the province); otherwise the institution's
    city or county at the highest level applied for, or its own division when it sits above it."""
    chain = list(Division.objects.filter(path__in=ancestor_paths(institution.division_path)).order_by("path"))
    by_level = {division.level: division for division in chain}
    province = by_level[DivisionLevel.PROVINCE]
    if any(division.is_direct_county for division in chain):
        return province
    top = max((LEVEL_RANK[level] for level in levels), default=1)
    own = chain[-1]
    if DIVISION_RANK[own.level] > top:
        return own  # a province or city institution applying for a lower level: its own division
    wanted = {3: DivisionLevel.PROVINCE, 2: DivisionLevel.CITY, 1: DivisionLevel.COUNTY}[top]
    return by_level.get(wanted, own)


def _codes(values, allowed, field: str, label: str, problems: dict) -> list[str]:
    chosen = sorted({str(value) for value in values or ()})
    if not chosen:
        problems[field] = f"请至少选择一个{label}"
    elif any(value not in allowed for value in chosen):
        problems[field] = f"{label}不在可申请的范围内"
    return chosen


def _files_problem(files: Sequence, already: int = 0) -> str | None:
    if len(files) + already > EVIDENCE_MAX_FILES:
        return f"证明材料最多 {EVIDENCE_MAX_FILES} 个文件"
    for upload in files:
        if (problem := evidence_problem(upload)) is not None:
            return f"{getattr(upload, 'name', '')}：{problem}"
    return None


def _store_files(accreditation: Accreditation, files: Sequence, actor) -> list[int]:
    made = []
    for upload in files:
        row = AccreditationEvidence(accreditation=accreditation, name=str(upload.name)[-200:], uploaded_by=actor)
        row.file.save(upload.name, upload, save=False)
        row.save()
        made.append(row.pk)
    return made


# --- the applicant's side ------------------------------------------------------------------

def accreditation_apply(*, scope: Scope, actor, institution_id: int, levels, categories, modes, note: str = "",
                        files: Sequence = (), ip: str | None = None) -> Accreditation:
    """A draft application of an institution for a scope, with its evidence files. The institution's
    staff apply for it, or a division administrator over it acting for it."""
    institution = fetch(scope, Institution, institution_id)
    problems: dict[str, str] = {}
    levels = _codes(levels, SCOPE_LEVELS, "levels", "层级", problems)
    categories = _codes(categories, SCOPE_CATEGORIES, "categories", "项目类别", problems)
    modes = _codes(modes, SCOPE_MODES, "modes", "培训方式", problems)
    note = (note or "").strip()
    if len(note) > 2000:
        problems["note"] = "申请说明不超过2000字"
    own_rank = DIVISION_RANK[institution.division.level]
    if "levels" not in problems and max(LEVEL_RANK[level] for level in levels) > own_rank:
        problems["levels"] = "不能申请高于本机构所在区划层级的准入范围"
    if (problem := _files_problem(files)) is not None:
        problems["evidence"] = problem
    division = accrediting_division(institution, levels) if "levels" not in problems else institution.division
    row = Accreditation(institution=institution, division_path=institution.division_path, levels=levels,
                        categories=categories, modes=modes, note=note, applied_by=actor,
                        accrediting_division=division, accrediting_path=division.path,
                        applicant_path=(scope.path or "") if scope.is_division else "")
    if "levels" not in problems and row.applicant_path and row.applicant_path == division.path:
        problems["levels"] = (f"该范围由{division.name}认定，认定单位的管理员不能代机构申请（四眼原则），"
                              "请由机构人员申请")
        raise ValidationError(problems)
    if not can(scope, Action.CHANGE, row):
        raise Forbidden("只能为本机构或本辖区（可写）内的机构申请准入")
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        row.save(force_insert=True)
        evidence = _store_files(row, files, actor)
        _event(row, "apply", "", S.DRAFT, actor, detail={"levels": levels, "categories": categories, "modes": modes,
                                                         "evidence": evidence})
        audit_record(action="accreditation.apply", actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="accreditation", object_id=row.pk,
                     detail={"institution": institution.pk, "levels": levels, "categories": categories,
                             "modes": modes, "accrediting": division.code, "evidence": len(evidence)})
    return row


def evidence_add(*, scope: Scope, actor, accreditation_id: int, files: Sequence, ip: str | None = None) -> int:
    """More evidence for a draft or a returned application."""
    with transaction.atomic():
        row = fetch(scope, Accreditation, accreditation_id, Action.CHANGE, lock=True)
        if row.state not in (S.DRAFT, S.RETURNED):
            raise ValidationError({"evidence": "只有草稿或退回修改的申请可以补充证明材料"})
        if not files:
            raise ValidationError({"evidence": "请选择要上传的证明材料（PDF、JPG 或 PNG）"})
        if (problem := _files_problem(files, row.evidence.count())) is not None:
            raise ValidationError({"evidence": problem})
        made = _store_files(row, files, actor)
        _event(row, "evidence", row.state, row.state, actor, detail={"evidence": made})
        audit_record(action="accreditation.evidence", actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="accreditation", object_id=row.pk, detail={"evidence": made})
    return len(made)


def accreditation_submit(*, scope: Scope, actor, accreditation_id: int, ip: str | None = None) -> Accreditation:
    with transaction.atomic():
        row = fetch(scope, Accreditation, accreditation_id, Action.CHANGE, lock=True)
        _move(row, "submit", actor, ip)
        row.criteria = current_criteria(timezone.localdate())
        row.submitted_at = timezone.now()
        row.save(update_fields=["criteria", "submitted_at"])
    return row


def accreditation_renew(*, scope: Scope, actor, accreditation_id: int, note: str = "", files: Sequence = (),
                        ip: str | None = None) -> Accreditation:
    """Apply, before the end of its term, to extend an approved accreditation, with new evidence.
    The accreditation stays in force while the renewal is reviewed."""
    with transaction.atomic():
        row = fetch(scope, Accreditation, accreditation_id, Action.CHANGE, lock=True)
        note = (note or "").strip()
        if len(note) > 2000:
            raise ValidationError({"note": "续期说明不超过2000字"})
        made: list[int] = []
        if row.state in machine.TRANSITIONS["renew"].sources:
            if not files:
                raise ValidationError({"evidence": "续期请上传新的证明材料（PDF、JPG 或 PNG）"})
            if (problem := _files_problem(files, row.evidence.count())) is not None:
                raise ValidationError({"evidence": problem})
            _precheck(row, "renew", actor)  # before any file is stored
            made = _store_files(row, files, actor)
        _move(row, "renew", actor, ip, detail={"evidence": made, "note": note})
        row.criteria = current_criteria(timezone.localdate())
        row.submitted_at = timezone.now()
        row.scores.all().delete()  # a renewal is scored afresh
        row.save(update_fields=["criteria", "submitted_at"])
    return row


# --- the accrediting division's side ------------------------------------------------------

def current_criteria(today: dt.date) -> CriteriaSet | None:
    return CriteriaSet.objects.filter(effective_from__lte=today).order_by("-version").first()


def accreditation_decide(*, scope: Scope, actor, accreditation_id: int, decision: str, reason: str = "",
                         scores: dict[str, int] | None = None, comments: dict[str, str] | None = None,
                         valid_from: dt.date | None = None, valid_until: dt.date | None = None,
                         ip: str | None = None) -> Accreditation:
    """The accrediting division's decision on a submitted application (approve with a term, return,
    refuse) or on a renewal (approve with a new end date, refuse). Scores are per criterion of the
    version the application was submitted under; approval needs every criterion scored and the
    total at the pass mark."""
    with transaction.atomic():
        row = fetch(scope, Accreditation, accreditation_id, Action.DECIDE, lock=True)
        name = machine.DECISIONS.get(row.state, {}).get(decision)
        if name is None:
            raise ValidationError({"decision": f"当前状态（{row.get_state_display()}）不能作出该决定"})
        scored, passed, total = _score(row, actor, scores or {}, comments or {})
        _move(row, name, actor, ip, reason=reason, valid_from=valid_from, valid_until=valid_until, scored=scored,
              passed=passed, detail={"total": total})
    return row


def _score(row: Accreditation, actor, scores: dict[str, int], comments: dict[str, str]) -> tuple[bool, bool, int]:
    criteria = row.criteria
    if criteria is None:
        return False, False, 0
    items = {item.code: item for item in criteria.items.all()}
    for code, value in scores.items():
        item = items.get(code)
        if item is None:
            raise ValidationError({"scores": "评分项不属于本申请适用的认定标准"})
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= item.max_score:
            raise ValidationError({"scores": f"“{item.name}”的得分应在0到{item.max_score}之间"})
        if len(comments.get(code, "")) > 300:
            raise ValidationError({"scores": f"“{item.name}”的评语不超过300字"})
    for code, value in scores.items():
        row.scores.update_or_create(criterion=items[code], defaults={
            "score": value, "comment": comments.get(code, "").strip(), "scored_by": actor})
    given = {score.criterion.code: score.score for score in row.scores.select_related("criterion")}
    total = sum(given.values())
    return set(given) >= set(items), total >= criteria.pass_score, total


def accreditation_suspend(*, scope: Scope, actor, accreditation_id: int, reason: str,
                          ip: str | None = None) -> Accreditation:
    return _reviewer_move(scope, actor, accreditation_id, "suspend", reason, ip)


def accreditation_reinstate(*, scope: Scope, actor, accreditation_id: int, reason: str,
                            ip: str | None = None) -> Accreditation:
    return _reviewer_move(scope, actor, accreditation_id, "reinstate", reason, ip)


def accreditation_revoke(*, scope: Scope, actor, accreditation_id: int, reason: str,
                         ip: str | None = None) -> Accreditation:
    return _reviewer_move(scope, actor, accreditation_id, "revoke", reason, ip)


def _reviewer_move(scope, actor, accreditation_id, name, reason, ip):
    with transaction.atomic():
        row = fetch(scope, Accreditation, accreditation_id, Action.DECIDE, lock=True)
        _move(row, name, actor, ip, reason=reason)
    return row


# --- the system ----------------------------------------------------------------------------

def accreditations_expire(*, today: dt.date | None = None) -> int:
    """Every accreditation past its end date expires (the daily task); returns how many."""
    today = today or timezone.localdate()
    due = list(Accreditation.objects.dangerously_unscoped()
               .filter(state__in=sorted(machine.TRANSITIONS["expire"].sources), valid_until__lt=today)
               .values_list("pk", flat=True))
    expired = 0
    for pk in due:
        with transaction.atomic():
            row = Accreditation.objects.dangerously_unscoped().select_for_update().filter(pk=pk).first()
            if row is None or row.state not in machine.TRANSITIONS["expire"].sources:
                continue
            _move(row, "expire", None, None, today=today)
            expired += 1
    return expired


# --- one move ------------------------------------------------------------------------------

def snapshot_of(row: Accreditation) -> machine.Snapshot:
    return machine.Snapshot(
        state=row.state, has_scope=bool(row.levels and row.categories and row.modes),
        has_evidence=row.evidence.exists(), applied_by=row.applied_by_id, submitted_by=row.submitted_by_id,
        decided_by=row.decided_by_id, valid_from=row.valid_from, valid_until=row.valid_until)


def _move(row: Accreditation, name: str, actor, ip: str | None, *, reason: str = "",
          valid_from: dt.date | None = None, valid_until: dt.date | None = None, scored: bool = False,
          passed: bool = False, today: dt.date | None = None, detail: dict | None = None) -> None:
    """Take transition `name` on a locked row: the machine's answer, the row, its history event,
    the audit row and, for a decision, the applicant's notice. Refused: ValidationError."""
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise ValidationError({"reason": "理由不超过1000字"})
    before = snapshot_of(row)
    move = machine.Move(actor=getattr(actor, "pk", None), today=today or timezone.localdate(), reason=reason,
                        valid_from=valid_from, valid_until=valid_until, scored=scored, passed=passed)
    try:
        after = machine.step(before, name, move)
    except machine.Refused as refusal:
        raise ValidationError({refusal.field: refusal.message}) from None
    transition = machine.TRANSITIONS[name]
    row.state, row.submitted_by_id, row.decided_by_id = after.state, after.submitted_by, after.decided_by
    row.valid_from, row.valid_until = after.valid_from, after.valid_until
    fields = ["state", "submitted_by", "decided_by", "valid_from", "valid_until"]
    if transition.side != machine.APPLICANT:
        row.reason, row.decided_at = reason, timezone.now()
        fields += ["reason", "decided_at"]
    row.save(update_fields=fields)
    detail = {**(detail or {}), "from": before.state, "to": after.state}
    if after.valid_until != before.valid_until:
        detail["valid_until"] = str(after.valid_until)
    event = _event(row, name, before.state, after.state, actor, reason=reason, detail=detail)
    audit_record(action=f"accreditation.{name}", actor=actor, ip=ip, scope_path=row.division_path,
                 object_type="accreditation", object_id=row.pk, detail={**detail, "reason": reason[:200]})
    if transition.side != machine.APPLICANT:
        _tell_applicant(row, transition, event.pk, reason)
    if name in STOPS:
        _tell_organisers(row, transition, event.pk, move.today)


def _precheck(row: Accreditation, name: str, actor) -> None:
    """The machine's answer for an applicant's move, as if its new evidence were stored."""
    move = machine.Move(actor=getattr(actor, "pk", None), today=timezone.localdate())
    try:
        machine.step(dataclasses.replace(snapshot_of(row), has_evidence=True), name, move)
    except machine.Refused as refusal:
        raise ValidationError({refusal.field: refusal.message}) from None


def _event(row: Accreditation, action: str, from_state: str, to_state: str, actor, *, reason: str = "",
           detail: dict | None = None):
    return row.events.create(action=action, from_state=from_state, to_state=to_state,
                             actor=actor if getattr(actor, "pk", None) else None, reason=reason,
                             detail=detail or {})


def _tell_applicant(row: Accreditation, transition: machine.Transition, event_id: int, reason: str) -> None:
    from django.urls import reverse

    name = row.institution.name
    title = f"{name}的准入申请：{transition.label}（{S(row.state).label}）"
    body = reason or (f"有效期至{row.valid_until}" if row.valid_until else "")
    notify(recipients={uid for uid in (row.applied_by_id, row.submitted_by_id) if uid}, kind=ACCREDITATION_KIND,
           title=title, body=body, url=reverse("institutions:detail", args=[row.pk]),
           event_key=f"accreditation:{row.pk}:{event_id}")


def _tell_organisers(row: Accreditation, transition: machine.Transition, event_id: int, today: dt.date) -> None:
    """Each organising unit of the institution's published projects that the move leaves without
    a covering accreditation hears which of its projects stop taking enrolment and running
    sessions (hours already earned stay)."""
    from django.urls import reverse

    from accounts.models import DIVISION_ROLES, User
    from catalog.constants import ProjectState
    from catalog.selectors import blocked_reasons

    # The institution's projects, whoever organises them: the system's rule, not a viewer's read.
    projects = list(row.institution.projects.filter(state__in=[ProjectState.OPEN, ProjectState.CLOSED])
                    .order_by("organiser_id", "organiser_school_id", "code"))
    blocked = blocked_reasons(projects, today)
    by_unit: dict[tuple[int, int | None], list] = {}
    for project in projects:
        if project.pk in blocked:
            by_unit.setdefault((project.organiser_id, project.organiser_school_id), []).append(project)
    for (division_id, school_id), held in by_unit.items():
        admins = (User.objects.filter(role="school_admin", school_id=school_id) if school_id is not None else
                  User.objects.filter(role__in=list(DIVISION_ROLES), division_id=division_id))
        recipients = set(admins.filter(is_active=True).values_list("pk", flat=True))
        recipients |= {p.created_by_id for p in held if p.created_by_id}
        listing = "；".join(f"{p.code}《{p.title}》" for p in held)
        url = (reverse("catalog:project_manage", args=[held[0].pk]) if len(held) == 1
               else reverse("catalog:project_list"))
        notify(recipients=recipients, kind=PROJECTS_HELD_KIND,
               title=f"{row.institution.name}准入{transition.label}：{len(held)}个项目暂停报名和开班",
               body=f"{listing}。已获得的学时不受影响；请更换实施机构或待其恢复准入。", url=url,
               event_key=f"accreditation:{row.pk}:{event_id}:projects")



# --- the annual ranking's sanctions (evaluation.sanctions) -----------------------------------

SANCTION_KIND = ACCREDITATION_KIND  # the institution hears of it with its other accreditation news
# What a confirmed elimination does, by the sanction's name: a warning is an event only.
SANCTION_MOVES = {"warning": None, "suspension": "sanction_suspend", "revocation": "sanction_revoke"}


def accreditations_sanction(*, institution_id: int, sanction: str, reason: str, detail: dict | None = None,
                            today: dt.date | None = None) -> list[int]:
    """The system's side of a confirmed bottom-ranked elimination on the institution's accreditations
    that are not final: `warning` records a "warn" event (the state unchanged), `suspension` and
    `revocation` move each row the machine allows through sanction_suspend / sanction_revoke (a row
    already suspended is not suspended again). The institution's staff are told. Returns the rows
    touched. Called inside the caller's transaction; the sanction is the system's, not a viewer's."""
    if sanction not in SANCTION_MOVES:
        raise ValueError(sanction)
    name = SANCTION_MOVES[sanction]
    rows = list(Accreditation.objects.dangerously_unscoped().select_for_update()
                .filter(institution_id=institution_id).exclude(state__in=sorted(machine.FINAL))
                .exclude(state__in=[S.DRAFT, S.SUBMITTED, S.RETURNED]).order_by("pk"))
    touched = []
    for row in rows:
        if name is None:
            _event(row, "warn", row.state, row.state, None, reason=reason, detail=detail)
            audit_record(action="accreditation.warn", actor=None, scope_path=row.division_path,
                         object_type="accreditation", object_id=row.pk, detail={**(detail or {}), "reason": reason[:200]})
            touched.append(row.pk)
        elif row.state in machine.TRANSITIONS[name].sources:
            _move(row, name, None, None, reason=reason, today=today, detail=detail)
            touched.append(row.pk)
    _tell_staff(institution_id, sanction, reason, touched, (detail or {}).get("case", ""))
    return touched


def _tell_staff(institution_id: int, sanction: str, reason: str, touched: list[int], key) -> None:
    from django.urls import reverse

    from accounts.models import User

    labels = {"warning": "警告", "suspension": "暂停准入资质", "revocation": "撤销准入资质"}
    recipients = set(User.objects.filter(role="institution_staff", institution_id=institution_id, is_active=True)
                     .values_list("pk", flat=True))
    url = reverse("institutions:detail", args=[touched[0]]) if touched else reverse("institutions:list")
    notify(recipients=recipients, kind=SANCTION_KIND, title=f"年度绩效评价末位淘汰：{labels[sanction]}", body=reason,
           url=url, event_key=f"accreditation-sanction:{institution_id}:{sanction}:{key}")
