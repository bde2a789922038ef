"""From statements to hours.

A `completed` or `passed` statement about a credited activity (lrs.models.CreditedActivity:
one IRI, or every IRI under a prefix) earns the activity's hours, once per teacher and
activity, through the ledger's writer (credits.services.ledger_entry_record), in the
activity's category (online study unless registered otherwise).

Ingestion only notes the candidates (`credits_note`, in the storing transaction: cheap, one
row per completion); the work runs after commit in a task (`credits_process`), one credit per
transaction, so a slow ledger never slows the LRS and one teacher's problem never blocks
another's. What it decides, each with its reason:

- the actor is no teacher (yet): UNMATCHED, kept and listed; credited when the teacher
  registers the identity (lrs.learners);
- the statement was voided: REFUSED;
- held for an administrator (FLAGGED) when the timestamp is in the future or long before the
  statement arrived, when the teacher already earned this activity (a replay under a new id,
  a second completion), when nothing about the activity came from the learner before the
  completion, when the completion came implausibly soon after the first statement, or when
  the ledger refuses it (the day's cap, a closed cycle);
- otherwise CREDITED, linked to its ledger entry.

An administrator over the teacher decides a flagged completion (`credit_decide`): hours
written (the ledger's checks still apply) or refused, with a note; audited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from access.policy import Action, fetch
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from credits.constants import EntryState, SourceType
from credits.services import ledger_entry_record
from lrs.keys import learner_key, value_hash
from lrs.models import (
    CreditedActivity,
    CreditState,
    IndexKind,
    Statement,
    StatementCredit,
    StatementIndex,
)
from people.models import Teacher

COMPLETION_VERBS = frozenset({"http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"})


# --- noting candidates at ingestion ------------------------------------------------------------

def _completed_activity(full: dict) -> str | None:
    """The activity IRI a statement completes, or None (not a completion, a failed attempt,
    an object that is not an activity)."""
    if full.get("verb", {}).get("id") not in COMPLETION_VERBS:
        return None
    target = full.get("object") or {}
    if target.get("objectType", "Activity") != "Activity" or not isinstance(target.get("id"), str):
        return None
    result = full.get("result")
    if isinstance(result, dict) and (result.get("success") is False or result.get("completion") is False):
        return None
    return target["id"]


def credited_activities_for(iris: set[str]) -> dict[str, CreditedActivity]:
    """The credited activity each IRI earns by: its own registration, else the longest
    registered prefix it starts with."""
    if not iris:
        return {}
    hashes = {value_hash(iri): iri for iri in iris}
    # Registrations are public to every client's statements: crediting reads them all.
    # One query: the exact registrations of these IRIs and every prefix registration.
    candidates = list(CreditedActivity.objects.dangerously_unscoped().filter(active=True).filter(
        Q(is_prefix=False, activity_hash__in=list(hashes)) | Q(is_prefix=True)))
    found = {hashes[row.activity_hash]: row for row in candidates
             if not row.is_prefix and hashes.get(row.activity_hash) == row.activity_iri}
    rest = iris - set(found)
    if rest:
        prefixes = sorted((row for row in candidates if row.is_prefix), key=lambda row: len(row.activity_iri),
                          reverse=True)
        for iri in rest:
            match = next((row for row in prefixes if iri.startswith(row.activity_iri)), None)
            if match is not None:
                found[iri] = match
    return found


def credits_note(rows: list[Statement]) -> list[int]:
    """Within the storing transaction: a queued credit for each new completion of a credited
    activity. Processing is scheduled for after the commit."""
    completions = [(row, iri) for row in rows if not row.is_voiding and (iri := _completed_activity(row.full))]
    if not completions:
        return []
    credited = credited_activities_for({iri for _, iri in completions})
    credits = []
    for row, iri in completions:
        activity = credited.get(iri)
        if activity is None:
            continue
        key = learner_key(row.full.get("actor") or {}) or ""
        credits.append(StatementCredit(
            statement=row, client_id=row.client_id, credited_activity=activity, activity_hash=value_hash(iri),
            agent_key=key, agent_hash=value_hash(key), teacher_id=row.teacher_id, state=CreditState.QUEUED))
    if not credits:
        return []
    StatementCredit.objects.bulk_create(credits)
    ids = [credit.pk for credit in credits]
    transaction.on_commit(lambda: _schedule(ids))
    return ids


def _schedule(ids: list[int]) -> None:
    from lrs.tasks import credits_process_task

    credits_process_task.delay(ids)


def credits_requeue(ids: list[int]) -> None:
    """Send credits (held as unmatched) through processing again, e.g. once their actor is
    matched to a teacher."""
    # Called by identity registration, which the caller authorised for this teacher.
    StatementCredit.objects.dangerously_unscoped().filter(pk__in=ids).update(state=CreditState.QUEUED, reason="")
    transaction.on_commit(lambda: _schedule(ids))


# --- processing ---------------------------------------------------------------------------------

def credits_process(ids: list[int]) -> dict[str, int]:
    """Process queued credits; each in its own transaction. Re-running is harmless: only
    queued credits are touched. Returns how many ended in each state."""
    counts: dict[str, int] = {}
    for credit_id in ids:
        state = _process_one(credit_id)
        if state:
            counts[state] = counts.get(state, 0) + 1
    return counts


def credits_process_waiting(limit: int = 5000) -> dict[str, int]:
    """The queued credits whose task never ran (a lost message, a worker stopped)."""
    stale = timezone.now() - dt.timedelta(minutes=2)
    ids = list(StatementCredit.objects.dangerously_unscoped()
               .filter(state=CreditState.QUEUED, created_at__lt=stale).order_by("pk").values_list("pk", flat=True)[:limit])
    return credits_process(ids)


def _teacher_of(credit: StatementCredit) -> Teacher | None:
    from lrs.learners import teachers_for_agents

    teacher_id = credit.teacher_id or teachers_for_agents({credit.agent_key} if credit.agent_key else set()).get(
        credit.agent_hash)
    if teacher_id is None:
        return None
    return Teacher.objects.dangerously_unscoped().filter(pk=teacher_id).first()


def _process_one(credit_id: int) -> str | None:
    with transaction.atomic():
        # Crediting is the system's own step for a statement already accepted from its client.
        credit = (StatementCredit.objects.dangerously_unscoped().select_for_update()
                  .select_related("statement", "credited_activity").filter(pk=credit_id).first())
        if credit is None or credit.state != CreditState.QUEUED:
            return None
        statement = credit.statement
        teacher = _teacher_of(credit)
        if teacher is None:
            return _settle(credit, CreditState.UNMATCHED, "学习者身份未匹配到教师")
        credit.teacher = teacher
        credit.division_path = teacher.division_path
        if statement.teacher_id is None:
            Statement.objects.dangerously_unscoped().filter(pk=statement.pk).update(teacher=teacher)
        if statement.voided:
            return _settle(credit, CreditState.REFUSED, "语句已被作废")
        reason = hold_reason(credit, statement)
        if reason:
            return _settle(credit, CreditState.FLAGGED, reason)
        try:
            with transaction.atomic():
                entry = _ledger_write(credit, teacher, actor=None)
                credit.ledger_entry = entry
                return _settle(credit, CreditState.CREDITED, "")
        except ValidationError as error:
            return _settle(credit, CreditState.FLAGGED, "学时账本未接受：" + _messages(error))
        except IntegrityError:  # another completion of the same activity was credited meanwhile
            return _settle(credit, CreditState.FLAGGED, "重复：该教师此活动已计学时")


def _settle(credit: StatementCredit, state: str, reason: str) -> str:
    credit.state, credit.reason = state, reason[:200]
    credit.save(update_fields=["state", "reason", "teacher", "division_path", "ledger_entry", "decided_by",
                               "decided_at"])
    return state


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "；".join(message for messages in error.message_dict.values() for message in messages)
    return "；".join(error.messages)


def _ledger_write(credit: StatementCredit, teacher: Teacher, *, actor) -> Any:
    activity = credit.credited_activity
    occurred = timezone.localdate(credit.statement.timestamp)
    # One source per teacher and activity: the ledger's own key keeps the hours single even if
    # two paths (automatic, an administrator's decision) reach it.
    source_id = f"lrs:{activity.pk}:t{teacher.pk}:{credit.activity_hash & 0xFFFFFFFFFFFFFFFF:x}"
    entry, _ = ledger_entry_record(
        teacher=teacher, category=activity.category, hours=activity.hours, occurred_on=min(occurred, timezone.localdate()),
        source_type=SourceType.COURSE, source_id=source_id, actor=actor, state=EntryState.APPROVED,
        note=f"{activity.title}（学习记录 {credit.statement.statement_id}）")
    return entry


def hold_reason(credit: StatementCredit, statement: Statement) -> str:
    """Why a completion must wait for an administrator, or "" when it may be credited."""
    skew = dt.timedelta(seconds=settings.LRS_CREDIT_CLOCK_SKEW_SECONDS)
    if statement.timestamp > statement.stored + skew:
        return "时间戳晚于接收时间（未来时间）"
    lag = statement.stored - statement.timestamp
    if lag > dt.timedelta(days=settings.LRS_CREDIT_MAX_LAG_DAYS):
        return f"时间戳早于接收时间 {lag.days} 天"
    earlier = (StatementCredit.objects.dangerously_unscoped()
               .filter(teacher=credit.teacher, credited_activity_id=credit.credited_activity_id,
                       activity_hash=credit.activity_hash, state__in=[CreditState.CREDITED, CreditState.FLAGGED])
               .exclude(pk=credit.pk).select_related("statement").first())
    if earlier is not None:
        when = timezone.localtime(earlier.statement.stored).strftime("%Y-%m-%d %H:%M")
        if earlier.state == CreditState.CREDITED:
            return f"重复：该教师此活动已于 {when} 计学时"
        return f"重复：该教师此活动已有待核查的完成记录（{when}）"
    first = _first_earlier_statement(credit, statement)
    if first is None:
        return "完成之前没有该学习者关于此活动的任何学习记录"
    percent = settings.LRS_CREDIT_MIN_SPAN_PERCENT
    if percent:
        needed = dt.timedelta(hours=float(credit.credited_activity.hours * Decimal(percent) / 100))
        span = statement.timestamp - first
        if span < needed:
            return (f"从首次学习到完成仅 {int(span.total_seconds() // 60)} 分钟，"
                    f"少于该活动学时（{credit.credited_activity.hours}）的 {percent}%")
    return ""


def _first_earlier_statement(credit: StatementCredit, statement: Statement) -> dt.datetime | None:
    """When the learner's first statement about the activity (as object or in context) before
    the completion was made, if there was one."""
    about_activity = (StatementIndex.objects.dangerously_unscoped()
                      .filter(kind=IndexKind.RELATED_ACTIVITY, value_hash=credit.activity_hash).values("statement_id"))
    return (Statement.objects.dangerously_unscoped()
            .filter(actor_hash=credit.agent_hash, timestamp__lt=statement.timestamp, voided=False,
                    seq__in=about_activity)
            .exclude(pk=statement.pk).order_by("timestamp").values_list("timestamp", flat=True).first())


# --- an administrator's decision ---------------------------------------------------------------

def credit_decide(*, scope: Scope, actor, credit_id: int, approve: bool, note: str = "",
                  ip: str | None = None) -> StatementCredit:
    """Credit or refuse a flagged completion. Approving still goes through the ledger's checks
    (a full day, a closed cycle: refused with its message, nothing changed)."""
    note = (note or "").strip()
    if len(note) > 150:
        raise ValidationError({"note": "说明不超过150字"})
    if not approve and not note:
        raise ValidationError({"note": "不予认定时请写明原因"})
    with transaction.atomic():
        credit = fetch(scope, StatementCredit, credit_id, Action.DECIDE, lock=True)
        if credit.state != CreditState.FLAGGED:
            raise ValidationError({"state": "只有待核查的记录可以处理"})
        credit.decided_by, credit.decided_at = actor, timezone.now()
        if approve:
            teacher = Teacher.objects.dangerously_unscoped().get(pk=credit.teacher_id)
            credit.ledger_entry = _ledger_write(credit, teacher, actor=actor)
            state = CreditState.CREDITED
        else:
            state = CreditState.REFUSED
        try:
            with transaction.atomic():
                _settle(credit, state, note or credit.reason)
        except IntegrityError:
            raise ValidationError({"state": "该教师此活动已计学时"}) from None
        audit_record(action=Audit.LRS_CREDIT_DECIDE, actor=actor, ip=ip, scope_path=credit.division_path,
                     object_type="statement_credit", object_id=credit.pk,
                     detail={"approve": approve, "note": note, "teacher": credit.teacher_id})
    return credit


def credits_void(statement_seqs: list[int]) -> None:
    """Statements just voided: their completions not yet credited are refused. Hours already
    written stay until an administrator revokes them (the client page lists these)."""
    if statement_seqs:
        # Part of storing a voiding statement the client was allowed to send.
        (StatementCredit.objects.dangerously_unscoped()
         .filter(statement_id__in=statement_seqs, state__in=[CreditState.FLAGGED, CreditState.UNMATCHED])
         .update(state=CreditState.REFUSED, reason="语句已被作废"))
