"""What a confirmed elimination does to the implementing institution's accreditation.

The years an institution has had a confirmed elimination are counted back from the case's
year without a gap: the first year warns (an accreditation event "warn", the state unchanged,
its staff told), the second consecutive year suspends, the third (and any later) revokes, each
through the accreditation state machine as a move of the system (institutions.services
.accreditations_sanction). Several confirmed cases of one institution in one year sanction it
once: the later ones carry the same sanction without a second move. A project without an
implementing institution sanctions nobody (the case's sanction stays empty).

What a confirmed elimination does to the project library (the next year's plan may not carry the
project on) is catalog.plans.elimination_problems."""

from __future__ import annotations

import datetime as dt

from evaluation.constants import CaseState, Sanction
from evaluation.models import EliminationCase

BY_STREAK = {1: Sanction.WARNING, 2: Sanction.SUSPENSION, 3: Sanction.REVOCATION}
MOVES = {Sanction.WARNING: "warning", Sanction.SUSPENSION: "suspension", Sanction.REVOCATION: "revocation"}


def streak_of(institution_id: int, year: int) -> int:
    """How many years, ending with `year`, in a row the institution has a confirmed elimination
    (counting `year` itself, whose case is being confirmed)."""
    # The institution's record across every organiser: a rule of the system, not a viewer's read.
    years = set(EliminationCase.objects.dangerously_unscoped()
                .filter(state=CaseState.CONFIRMED, score__institution_id=institution_id, score__year__lt=year)
                .values_list("score__year", flat=True))
    streak, earlier = 1, year - 1
    while earlier in years:
        streak, earlier = streak + 1, earlier - 1
    return streak


def sanction_confirmed(case: EliminationCase, *, today: dt.date) -> str:
    """Apply the sanction a case being confirmed calls for (inside the caller's transaction, the
    case locked) and return it ("" when the project had no implementing institution)."""
    from institutions.services import accreditations_sanction

    score = case.score
    if score.institution_id is None:
        return ""
    streak = streak_of(score.institution_id, score.year)
    sanction = BY_STREAK[min(streak, 3)]
    same_year = (EliminationCase.objects.dangerously_unscoped()
                 .filter(state=CaseState.CONFIRMED, score__institution_id=score.institution_id, score__year=score.year)
                 .exclude(pk=case.pk).exists())
    if not same_year:
        reason = (f"{score.year}年度培训项目绩效评价末位淘汰（连续{streak}年）：{Sanction(sanction).label}"
                  if streak > 1 else f"{score.year}年度培训项目绩效评价末位淘汰：{Sanction(sanction).label}")
        accreditations_sanction(institution_id=score.institution_id, sanction=MOVES[sanction], reason=reason,
                                detail={"case": case.pk, "year": score.year, "project": score.project_id,
                                        "streak": streak}, today=today)
    return sanction
