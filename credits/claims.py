"""Teachers' own claims for hours (with evidence): checked by their school,
then decided by the county (issue 3 item 2). A claim is a pending ledger
entry with source type `claim`; its idempotency key is the form's, so a
double-submitted form is one claim."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from access.errors import Forbidden
from access.policy import Action as Can
from access.policy import fetch, require, visible
from access.scope import Scope
from credits.constants import EntryState, SourceType
from credits.models import LedgerEntry
from credits.services import ledger_entry_decide, ledger_entry_record, ledger_entry_school_check

EVIDENCE_TYPES = {".pdf": (b"%PDF",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",), ".png": (b"\x89PNG\r\n\x1a\n",)}


def evidence_problem(upload) -> str | None:
    if upload is None:
        return "请上传证明材料（PDF、JPG 或 PNG）"
    suffix = Path(upload.name).suffix.lower()
    if suffix not in EVIDENCE_TYPES:
        return "证明材料只接受 PDF、JPG 或 PNG"
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        return f"证明材料不能超过 {settings.EVIDENCE_MAX_BYTES // (1024 * 1024)} MB"
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(EVIDENCE_TYPES[suffix]):
        return "证明材料的内容与扩展名不符"
    return None


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


def claim_school_check(*, scope: Scope, actor, entry_id: int, approve: bool, ip: str | None = None) -> LedgerEntry:
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.SCHOOL_CHECK, select_related=("teacher",), lock=True)
        if entry.source_type != SourceType.CLAIM or entry.state != EntryState.PENDING or entry.school_checked_at:
            raise Forbidden("该申报已处理，或不是待学校审核的申报")
        if not approve:
            # Refused at school: decided like a county rejection (pending hours released).
            return ledger_entry_decide(scope=scope, actor=actor, entry_id=entry.pk, approve=False, ip=ip, stage="school")
        return ledger_entry_school_check(scope=scope, actor=actor, entry_id=entry.pk, ip=ip)


def claim_county_decide(*, scope: Scope, actor, entry_id: int, approve: bool, ip: str | None = None) -> LedgerEntry:
    entry = fetch(scope, LedgerEntry, entry_id, Can.DECIDE)
    if entry.state != EntryState.PENDING or (entry.source_type == SourceType.CLAIM and not entry.school_checked_at):
        raise Forbidden("该申报已处理，或尚未经学校审核")
    return ledger_entry_decide(scope=scope, actor=actor, entry_id=entry_id, approve=approve, ip=ip)
