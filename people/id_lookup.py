"""Finding a teacher by a whole ID number: an audited lookup with a tight limit per account.

A search by number answers one question, "is this number one of my teachers?", and with
the masked number, the county and the birth year known, asking it often enough rebuilds
the full number (people.identity.id_mask says how often). So every such search, on any
page, the API, an export, a nomination or an edit:

- counts against the account's ID_LOOKUP_MAX_PER_HOUR and ID_LOOKUP_MAX_PER_DAY, past
  which it is refused (Throttled → 429) before anything is looked up;
- writes one audit event (teacher.id_lookup) in the same transaction as the lookup, with
  the actor, address, scope, channel and whether it matched — never the number, nor a
  digest of it (a digest of 18 guessable digits is brute-forced in seconds).

`teacher_id_lookup` is the only maker of an `IdLookup`, and `people.selectors` refuses an
ID filter that does not bring one answering that number in that scope: a new search path
that forgets the lookup fails loudly instead of opening an unaudited oracle. Searches by
name prefix are not counted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from access.policy import visible
from access.scope import Scope
from accounts.throttle import Throttled, rate_count
from audit.actions import Action
from audit.services import audit_record
from people.identity import IdNumberError, id_blind_index, id_blind_indexes, id_parse
from people.models import Teacher

# Only this module holds it, so only this module can make an IdLookup.
_MINT = object()

THROTTLED_MESSAGE = "按身份证号查询过于频繁（每个账户每小时最多 {hour} 次、每天最多 {day} 次），请稍后再试；按姓名查询不受此限制。"


class IdLookupRequired(RuntimeError):
    """A search by ID number reached the registry without `teacher_id_lookup`: a bug, not
    a user error, so it is never turned into an ordinary answer."""


@dataclass(frozen=True, eq=False)
class IdLookup:
    """One counted and audited search by number, and its answer: the teacher of `scope`
    holding the number, if any. The blind index stays in memory, never in the audit."""

    scope: Scope
    index: str = field(repr=False)
    teacher_id: int | None
    mint: object = field(repr=False)

    def __post_init__(self) -> None:
        if self.mint is not _MINT:
            raise IdLookupRequired("IdLookup 只能由 teacher_id_lookup 生成（计数并审计）")

    def answers(self, *, scope: Scope, number: str) -> bool:
        """Whether this lookup was made for `number` in `scope` (a token is good for nothing else)."""
        return self.scope == scope and hmac.compare_digest(self.index, id_blind_index(number))


def id_search_number(q: str) -> str | None:
    """The whole ID number a search text is, or None when it is a name (prefix) search.
    Pages, API and selector decide with this one rule."""
    text = (q or "").strip()
    if len(text) != 18:
        return None
    try:
        return id_parse(text).number
    except IdNumberError:
        return None


def _who(actor, scope: Scope) -> str:
    user_id = getattr(actor, "pk", None) or scope.user_id
    return f"user:{user_id}" if user_id else "anonymous"


def id_lookup_charge(*, scope: Scope, actor, channel: str, ip: str | None) -> None:
    """Count a search by number for the account; Throttled past either limit. The first refusal of a
    window is audited (that account hit the limit), later ones are not, lest a script flood
    the audit log with refusals that looked nothing up."""
    who = _who(actor, scope)
    limits = (("id-lookup-hour", settings.ID_LOOKUP_MAX_PER_HOUR, 3600),
              ("id-lookup-day", settings.ID_LOOKUP_MAX_PER_DAY, 24 * 3600))
    for bucket, limit, seconds in limits:
        count = rate_count(bucket, who, seconds=seconds)
        if count > limit:
            if count == limit + 1:
                audit_record(action=Action.ID_LOOKUP, actor=actor, ip=ip, scope_path=scope.path or "",
                             object_type="teacher", result="refused",
                             detail={"channel": channel, "matched": None, "limit": bucket})
            raise Throttled(THROTTLED_MESSAGE.format(hour=settings.ID_LOOKUP_MAX_PER_HOUR,
                                                     day=settings.ID_LOOKUP_MAX_PER_DAY))


def teacher_id_lookup(*, scope: Scope, actor, q: str, channel: str, ip: str | None = None) -> IdLookup | None:
    """The lookup behind any search text that is a whole ID number (None for a name search):
    counted, then looked up within the viewer's scope and audited in one transaction."""
    number = id_search_number(q)
    if number is None:
        return None
    id_lookup_charge(scope=scope, actor=actor, channel=channel, ip=ip)
    index = id_blind_index(number)
    with transaction.atomic():
        teacher_id = (visible(scope, Teacher).filter(id_index__in=id_blind_indexes(number))
                      .values_list("pk", flat=True).first())
        audit_record(action=Action.ID_LOOKUP, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="teacher", object_id=teacher_id or "",
                     detail={"channel": channel, "matched": teacher_id is not None})
    return IdLookup(scope=scope, index=index, teacher_id=teacher_id, mint=_MINT)
