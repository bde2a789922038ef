"""Teachers' own claims for hours (with evidence): checked by their school,
then decided by the county. A claim is a pending ledger entry with source type
`claim`; its idempotency key is the form's, so a double-submitted form is one
claim.

Every refusal carries its reason (kept on the append-only decision row), and
each decision is told to the teacher. Decisions can be undone where the policy
allows, without rewriting the ledger: a refused claim is revised and submitted
again as a new claim whose source id names the refused one (so it is resubmitted
once); an approval is reversed by the deciding level with a compensating entry
(`ledger_entry_revoke`) while the cycle is open."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse

from access.errors import Forbidden, NotVisible
from access.policy import Action as Can
from access.policy import fetch, require, visible
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from core import uploads
from credits.constants import DecisionStage, DecisionState, EntryState, SourceType
from credits.models import LedgerDecision, LedgerEntry
from credits.services import (
    ledger_entry_decide,
    ledger_entry_record,
    ledger_entry_revoke,
    ledger_entry_school_check,
)


def evidence_problem(upload) -> str | None:
    return uploads.evidence_problem(upload, label="证明材料")


def claim_submit(*, scope: Scope, teacher, actor, category: str, hours, occurred_on: dt.date, note: str, evidence,
                 idempotency_key: str, ip: str | None = None) -> LedgerEntry:
    require(scope, Can.CLAIM, teacher)  # a teacher claims hours for themself only
    problems = {}
    if (problem := evidence_problem(evidence)) is not None:
        problems["evidence"] = problem
    if len((note or "").strip()) < 4:
        problems["note"] = "请说明活动内容（至少4个字）"
    key = (idempotency_key or "").strip()
    if not key or len(key) > 64:
        problems["idempotency_key"] = "表单已失效，请刷新后重新提交"
    if problems:
        raise ValidationError(problems)
    entry, _ = ledger_entry_record(
        teacher=teacher, category=category, hours=hours, occurred_on=occurred_on, source_type=SourceType.CLAIM,
        source_id=f"{teacher.pk}:{key}", state=EntryState.PENDING, note=note.strip(), evidence=evidence, actor=actor, ip=ip,
    )
    return entry


def claims_to_check(*, scope: Scope) -> QuerySet[LedgerEntry]:
    """Entries waiting for this administrator: teachers' claims not yet checked, at the school
    stage for a school admin; at the county stage (division admins) every pending entry that
    has passed its school (a claim the school checked, hours a school wrote, checked as they
    were written) or has no school stage (hours written pending by a division's integration)."""
    if scope.school_id is not None:
        return (visible(scope, LedgerEntry, Can.SCHOOL_CHECK)
                .filter(source_type=SourceType.CLAIM, state=EntryState.PENDING, school_checked_at__isnull=True)
                .select_related("teacher", "teacher__school"))
    return (visible(scope, LedgerEntry, Can.DECIDE).filter(state=EntryState.PENDING)
            .filter(Q(school_checked_at__isnull=False) | ~Q(source_type=SourceType.CLAIM))
            .select_related("teacher", "teacher__school"))


REASON_MISSING = "请填写不通过的原因（至少2个字），教师会看到它"
REVERSE_REASON_MISSING = "请填写撤销认定的原因（至少2个字），教师会看到它"
RESUBMIT_MARK = ":resubmit:"


def _reason(reason: str, missing: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError({"reason": missing})
    if len(reason) > 500:
        raise ValidationError({"reason": "原因不能超过500字"})
    return reason


def _tell_teacher(entry: LedgerEntry, *, title: str, body: str) -> None:
    """One message per decision: the event key counts the entry's decisions, so a retry tells once."""
    from accounts.models import User
    from notifications.services import notify

    recipients = User.objects.filter(teacher_id=entry.teacher_id, is_active=True).values_list("pk", flat=True)
    n = entry.decisions.count()
    notify(recipients=list(recipients), kind="claim.decided", title=title, body=body,
           url=reverse("credits:my_hours"), event_key=f"claim.decided:{entry.pk}:{n}")


def _what(entry: LedgerEntry) -> str:
    return f"{entry.occurred_on:%Y-%m-%d} {entry.get_category_display()} {entry.hours} 学时"


def claim_school_check(*, scope: Scope, actor, entry_id: int, approve: bool, reason: str = "",
                       ip: str | None = None) -> LedgerEntry:
    """The school passes a claim on to the county, or refuses it with a reason."""
    if not approve:
        reason = _reason(reason, REASON_MISSING)
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.SCHOOL_CHECK, select_related=("teacher",), lock=True)
        if entry.source_type != SourceType.CLAIM or entry.state != EntryState.PENDING or entry.school_checked_at:
            raise Forbidden("该申报已处理，或不是待学校审核的申报")
        if not approve:
            # Refused at school: decided like a county rejection (pending hours released).
            entry = ledger_entry_decide(scope=scope, actor=actor, entry_id=entry.pk, approve=False, ip=ip,
                                        stage="school", note=reason)
            _tell_teacher(entry, title="学时申报未通过学校审核", body=f"{_what(entry)}：未通过。原因：{reason}")
            return entry
        entry = ledger_entry_school_check(scope=scope, actor=actor, entry_id=entry.pk, ip=ip)
        _tell_teacher(entry, title="学时申报已通过学校审核", body=f"{_what(entry)}：学校已审核，待县级认定。")
        return entry


def claim_county_decide(*, scope: Scope, actor, entry_id: int, approve: bool, reason: str = "",
                        ip: str | None = None) -> LedgerEntry:
    """The county's decision; a refusal needs a reason. Hours written pending by a school or an
    integration wait here too; only claims are told to the teacher."""
    if not approve:
        reason = _reason(reason, REASON_MISSING)
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.DECIDE)
        if entry.state != EntryState.PENDING or (entry.source_type == SourceType.CLAIM and not entry.school_checked_at):
            raise Forbidden("该申报已处理，或尚未经学校审核")
        entry = ledger_entry_decide(scope=scope, actor=actor, entry_id=entry_id, approve=approve, ip=ip,
                                    note=reason if not approve else (reason or "").strip()[:500])
        if entry.source_type == SourceType.CLAIM:
            if approve:
                _tell_teacher(entry, title="学时申报已认定", body=f"{_what(entry)}：已认定，计入本周期学时。")
            else:
                _tell_teacher(entry, title="学时申报未通过县级认定", body=f"{_what(entry)}：未通过。原因：{reason}")
        return entry


def claim_approval_reverse(*, scope: Scope, actor, entry_id: int, reason: str, ip: str | None = None,
                           today: dt.date | None = None) -> LedgerEntry:
    """The deciding level takes back an approval of a claim, with a reason, while the cycle is
    open: a compensating entry (the ledger's revocation), audited. Returns the claim."""
    reason = _reason(reason, REVERSE_REASON_MISSING)
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.REVOKE, select_related=("teacher",))
        if entry.source_type != SourceType.CLAIM:
            raise Forbidden("只有教师的学时申报可以在此撤销认定")
        if entry.state != EntryState.APPROVED:
            raise ValidationError({"__all__": "只有已认定的申报可以撤销认定"})
        ledger_entry_revoke(scope=scope, actor=actor, entry_id=entry.pk, reason=reason, ip=ip, today=today)
        entry.refresh_from_db()
        _tell_teacher(entry, title="学时申报的认定已撤销", body=f"{_what(entry)}：认定已撤销，学时已冲销。原因：{reason}")
    return entry


def resubmission_source_id(entry: LedgerEntry) -> str:
    return f"{entry.teacher_id}{RESUBMIT_MARK}{entry.pk}"


def resubmitted_from(entry: LedgerEntry) -> int | None:
    """The refused claim this claim revises, read from its source id."""
    if entry.source_type != SourceType.CLAIM or RESUBMIT_MARK not in entry.source_id:
        return None
    tail = entry.source_id.rsplit(RESUBMIT_MARK, 1)[1]
    return int(tail) if tail.isdigit() else None


def claim_resubmit(*, scope: Scope, teacher, actor, entry_id: int, category: str, hours, occurred_on: dt.date,
                   note: str, evidence=None, ip: str | None = None) -> LedgerEntry:
    """The teacher revises a refused claim and submits it again: a new pending claim (the
    refused one stays as it was, with its reason), at most once per refused claim. Without a
    new file the refused claim's evidence is kept."""
    require(scope, Can.CLAIM, teacher)
    old = fetch(scope, LedgerEntry, entry_id)
    if old.teacher_id != teacher.pk:
        raise Forbidden("只能重新提交本人的申报")
    if old.source_type != SourceType.CLAIM or old.state != EntryState.REJECTED:
        raise ValidationError({"__all__": "只有未通过的申报可以修改后重新提交"})
    problems = {}
    if evidence is not None and (problem := evidence_problem(evidence)) is not None:
        problems["evidence"] = problem
    if evidence is None and not old.evidence:
        problems["evidence"] = "请上传证明材料（PDF、JPG 或 PNG）"
    if len((note or "").strip()) < 4:
        problems["note"] = "请说明活动内容（至少4个字）"
    if problems:
        raise ValidationError(problems)
    source_id = resubmission_source_id(old)
    with transaction.atomic():
        if visible(scope, LedgerEntry).filter(source_type=SourceType.CLAIM, source_id=source_id).exists():
            raise ValidationError({"__all__": "该申报已重新提交过，请查看新的申报"})
        entry, created = ledger_entry_record(
            teacher=teacher, category=category, hours=hours, occurred_on=occurred_on, source_type=SourceType.CLAIM,
            source_id=source_id, state=EntryState.PENDING, note=note.strip(),
            evidence=evidence if evidence is not None else old.evidence.name, actor=actor, ip=ip,
        )
        audit_record(action=Action.CLAIM_RESUBMIT, actor=actor, ip=ip, scope_path=teacher.division_path,
                     object_type="ledger_entry", object_id=entry.pk, detail={"resubmits": old.pk})
    return entry


# --- history ------------------------------------------------------------------------------

STEP_LABELS: dict[tuple[str, str], str] = {
    (DecisionStage.SCHOOL, DecisionState.CHECKED): "学校审核通过",
    (DecisionStage.SCHOOL, DecisionState.REJECTED): "学校审核不通过",
    (DecisionStage.COUNTY, DecisionState.APPROVED): "县级认定通过",
    (DecisionStage.COUNTY, DecisionState.REJECTED): "县级认定不通过",
    (DecisionStage.REVOKE, DecisionState.REVOKED): "撤销认定（冲销学时）",
}


@dataclass(frozen=True)
class Step:
    kind: str  # submitted, resubmitted, a decision's stage, resubmitted_as
    label: str
    who: str
    at: dt.datetime | None
    reason: str = ""
    entry_id: int | None = None  # the other claim of a resubmission


def _who(user) -> str:
    if user is None:
        return "系统"
    return f"{user.get_role_display()} {user.get_full_name() or user.username}"


def with_history(entries, *, scope: Scope) -> list[LedgerEntry]:
    """The entries with `.history` (steps in order) and `.reason` (why it was refused or its
    approval reversed, else "") set: two queries for any number of entries."""
    entries = list(entries)
    ids = [e.pk for e in entries]
    decisions: dict[int, list[LedgerDecision]] = {}
    for decision in (LedgerDecision.objects.visible_to(scope).filter(entry_id__in=ids)
                     .select_related("actor").order_by("entry_id", "seq")):
        decisions.setdefault(decision.entry_id, []).append(decision)
    claims = [e for e in entries if e.source_type == SourceType.CLAIM]
    followers = dict(visible(scope, LedgerEntry).filter(
        source_type=SourceType.CLAIM, source_id__in=[resubmission_source_id(e) for e in claims if e.state == EntryState.REJECTED],
    ).values_list("source_id", "pk")) if claims else {}
    for entry in entries:
        steps = []
        previous = resubmitted_from(entry)
        steps.append(Step("resubmitted" if previous else "submitted",
                          f"修改后重新提交（原申报 #{previous}）" if previous else "提交",
                          _who(entry.created_by) if entry.created_by_id else "系统", entry.created_at, entry_id=previous))
        reason = ""
        for decision in decisions.get(entry.pk, []):
            label = STEP_LABELS.get((decision.stage, decision.state), decision.get_state_display())
            steps.append(Step(decision.stage, label, _who(decision.actor), decision.at, decision.note))
            if decision.state in (DecisionState.REJECTED, DecisionState.REVOKED):
                reason = decision.note
            elif decision.state == DecisionState.APPROVED:
                reason = ""
        follower = followers.get(resubmission_source_id(entry))
        entry.resubmitted_as = follower  # type: ignore[attr-defined]
        if follower is not None:
            steps.append(Step("resubmitted_as", f"已修改后重新提交为申报 #{follower}", "", None, entry_id=follower))
        entry.history = steps  # type: ignore[attr-defined]
        entry.reason = reason  # type: ignore[attr-defined]
    return entries


def claim_get(*, scope: Scope, entry_id: int) -> LedgerEntry:
    """A claim the viewer sees (the teacher, the administrators of their jurisdiction), with its history."""
    entry = fetch(scope, LedgerEntry, entry_id, select_related=("teacher", "teacher__school", "cycle", "created_by"))
    if entry.source_type != SourceType.CLAIM:
        raise NotVisible("申报不存在")
    return with_history([entry], scope=scope)[0]


def claims_decided(*, scope: Scope, limit: int = 50) -> list[LedgerEntry]:
    """Claims this county-level administrator may still reverse: approved claims of the jurisdiction, newest first."""
    if scope.school_id is not None:
        return []
    rows = (visible(scope, LedgerEntry, Can.REVOKE)
            .filter(source_type=SourceType.CLAIM, state=EntryState.APPROVED)
            .select_related("teacher", "teacher__school", "created_by").order_by("-decided_at", "-id")[:limit])
    return with_history(rows, scope=scope)
