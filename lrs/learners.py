"""Which teacher a statement's actor is.

An actor is a teacher when its key (lrs.keys.agent_key) is one of the teacher's registered
identities: an account on a course platform (homePage + name), or a mailbox, registered as
both `mbox` and its `mbox_sha1sum` (a provider may send either). Accounts on this platform's
own home page (settings.LRS_ACCOUNT_HOMEPAGE) are matched by user name without registering.

Registering an identity claims the statements already stored under it: they are linked to
the teacher and their held completions go through crediting again (lrs.crediting).
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from access.policy import Action, fetch, require
from access.scope import Scope
from accounts.models import User
from audit.actions import Action as Audit
from audit.services import audit_record
from lrs.keys import value_hash
from lrs.models import CreditState, LearnerIdentity, Statement, StatementCredit
from people.models import Teacher

MAILBOX = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")


def own_account_prefix() -> str:
    return f"account:{settings.LRS_ACCOUNT_HOMEPAGE} "


def teachers_for_agents(keys: set[str]) -> dict[int, int]:
    """value_hash(agent key) -> teacher id, for the keys that name a teacher (one query each
    for registered identities and for own-platform accounts)."""
    if not keys:
        return {}
    by_hash = {value_hash(key): key for key in keys}
    # Matching runs for a client's statements, before any person's scope exists. Raw SQL: building
    # the ORM's hundred-value IN cost more than the query on every batch.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key_hash, teacher_id FROM {LearnerIdentity._meta.db_table} "  # noqa: S608
                       f"WHERE key_hash IN ({', '.join(['%s'] * len(by_hash))})", list(by_hash))
        found = dict(cursor.fetchall())
    prefix = own_account_prefix()
    names = {key[len(prefix):]: digest for digest, key in by_hash.items()
             if digest not in found and key.startswith(prefix)}
    if names:
        for username, teacher_id in (User.objects.filter(username__in=list(names), teacher__isnull=False)
                                     .values_list("username", "teacher_id")):
            found[names[username]] = teacher_id
    return found


def identity_keys(kind: str, value: str, *, home_page: str = "") -> list[str]:
    """The agent keys one registration stands for; ValidationError with a Chinese message."""
    value = (value or "").strip()
    if kind == "mbox":
        address = value.removeprefix("mailto:").strip().lower()
        if not MAILBOX.match(address) or len(address) > 200:
            raise ValidationError({"value": "请填写有效的电子邮箱"})
        mbox = f"mailto:{address}"
        return [f"mbox:{mbox}", f"mbox_sha1sum:{hashlib.sha1(mbox.encode()).hexdigest()}"]  # noqa: S324 - xAPI's own hash
    if kind == "account":
        home_page = (home_page or "").strip()
        if not re.match(r"^https?://\S+$", home_page) or len(home_page) > 300:
            raise ValidationError({"home_page": "平台主页应为完整网址（https://…）"})
        if not value or len(value) > 150 or any(ch.isspace() for ch in value):
            raise ValidationError({"value": "请填写该平台上的账号名（不含空格）"})
        return [f"account:{home_page} {value}"]
    raise ValidationError({"kind": "身份类型应为 mbox 或 account"})


def learner_identity_add(*, scope: Scope, actor, teacher: Teacher, kind: str, value: str, home_page: str = "",
                         ip: str | None = None) -> list[LearnerIdentity]:
    """Register an identity of a teacher (the teacher themself, or an administrator who may
    edit the teacher), then claim the statements already stored under it."""
    keys = identity_keys(kind, value, home_page=home_page)
    rows = [LearnerIdentity(teacher=teacher, agent_key=key, key_hash=value_hash(key)) for key in keys]
    require(scope, Action.CHANGE, rows[0])
    try:
        with transaction.atomic():
            LearnerIdentity.objects.bulk_create(rows)
            audit_record(action=Audit.LRS_IDENTITY_ADD, actor=actor, ip=ip, scope_path=teacher.division_path,
                         object_type="teacher", object_id=teacher.pk, detail={"kind": kind, "keys": len(keys)})
    except IntegrityError:
        raise ValidationError({"value": "该身份已登记（本人或其他教师）；如有误，请联系管理员"}) from None
    statements_claim(teacher, [row.key_hash for row in rows])
    return rows


@transaction.atomic
def learner_identity_remove(*, scope: Scope, actor, identity_id: int, ip: str | None = None) -> None:
    """Remove a registration. Statements already linked stay linked (their hours were earned)."""
    identity = fetch(scope, LearnerIdentity, identity_id, Action.CHANGE)
    identity.delete()
    audit_record(action=Audit.LRS_IDENTITY_REMOVE, actor=actor, ip=ip, scope_path=identity.teacher.division_path,
                 object_type="teacher", object_id=identity.teacher_id, detail={})


def statements_claim(teacher: Teacher, key_hashes: list[int]) -> int:
    """Link the unlinked statements of these identities to the teacher, and send the
    completions held as unmatched back through crediting. Returns statements linked."""
    from lrs.crediting import credits_requeue

    # The teacher's own registration, already authorised by the caller.
    linked = (Statement.objects.dangerously_unscoped()
              .filter(actor_hash__in=key_hashes, teacher__isnull=True).update(teacher=teacher))
    waiting = list(StatementCredit.objects.dangerously_unscoped()
                   .filter(agent_hash__in=key_hashes, state=CreditState.UNMATCHED).values_list("pk", flat=True))
    if waiting:
        credits_requeue(waiting)
    return linked


def identities_of(scope: Scope, teacher: Teacher) -> list[LearnerIdentity]:
    from access.policy import visible

    return list(visible(scope, LearnerIdentity, Action.VIEW).filter(teacher=teacher).order_by("created_at", "pk"))
