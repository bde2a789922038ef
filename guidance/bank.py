"""Instant answers (即时解答): the already-answered questions most like the one being typed.

Every question's text is encoded once, when asked (guidance.matching), and the vector kept on
its row. Lookups run over an in-process index per stage and subject of the questions that may
be consulted (answered, shared by their asker, answered by an expert), refreshed from the rows
answered since it was built; the hits are then read back through the access policy, so a
question no longer shareable never shows. Askers are never named.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from access.policy import Action, rule_for, visible
from access.scope import Scope
from guidance import matching
from guidance.models import Question, QuestionMessage

MAX_RESULTS = 10
REFRESH_SECONDS = 30


def encode_text(text: str) -> bytes:
    return matching.to_bytes(matching.get_matcher().encode([text])[0])


@dataclass
class _Group:
    ids: np.ndarray
    vectors: np.ndarray
    watermark: object  # the latest first_answered_at included
    checked: float
    fingerprint: str  # the matcher whose vectors these are (a refit starts the group again)


_groups: dict[tuple[str, str, str], _Group] = {}
_lock = threading.Lock()


def _rows(scope: Scope, stage: str, subject: str, since=None):
    rows = visible(scope, Question, Action.CONSULT).filter(stage=stage, subject=subject, vector__isnull=False)
    if since is not None:
        rows = rows.filter(first_answered_at__gt=since)
    return rows.order_by("first_answered_at").values_list("id", "vector", "first_answered_at")


def _stack(rows, dimension: int) -> tuple[np.ndarray, np.ndarray, object]:
    """The rows' vectors as one matrix; vectors of another dimension (an older matcher's, waiting
    for `yanxiu questions reindex`) are left out."""
    found: list[tuple[int, bytes]] = []
    watermark = None
    for pk, blob, answered in rows.iterator(chunk_size=5000):
        found.append((pk, bytes(blob)))
        watermark = answered
    index = matching.VectorIndex.from_blobs(found, dimension)
    return index.ids, index.matrix, watermark


def _group(scope: Scope, stage: str, subject: str) -> _Group:
    """The index of a stage and subject for the viewers the consult rule treats alike: keyed by the
    rule's own filter for this viewer (the same for every teacher and expert, nothing for others),
    so a cached index is never reused across what the policy tells apart."""
    key = (stage, subject, str(rule_for(Question, Action.CONSULT).q(scope)))
    matcher = matching.get_matcher()
    with _lock:
        group = _groups.get(key)
        now = time.monotonic()
        if group is None or group.fingerprint != matcher.fingerprint:
            ids, vectors, watermark = _stack(_rows(scope, stage, subject), matcher.dimension)
            group = _groups[key] = _Group(ids, vectors, watermark, now, matcher.fingerprint)
        elif now - group.checked > REFRESH_SECONDS:
            ids, vectors, watermark = _stack(_rows(scope, stage, subject, since=group.watermark), matcher.dimension)
            if len(ids):
                group.ids = np.concatenate([group.ids, ids])
                group.vectors = np.vstack([group.vectors, vectors])
            if watermark is not None:
                group.watermark = watermark
            group.checked = now
        return group


def forget() -> None:
    """Drop the indexes (tests; a reindex)."""
    with _lock:
        _groups.clear()


@dataclass(frozen=True)
class Similar:
    id: int
    text: str
    answer: str
    score: float
    answered_at: object


def similar_questions(scope: Scope, *, stage: str, subject: str, text: str, k: int = 5,
                      min_score: float | None = None) -> list[Similar]:
    """Up to `k` consultable questions of the stage and subject most like `text`, best first."""
    if not (text or "").strip():
        return []
    k = max(1, min(k, MAX_RESULTS))
    group = _group(scope, stage, subject)
    if len(group.ids) == 0:
        return []
    query = matching.get_matcher().encode([text.strip()])[0]
    found = matching.VectorIndex(group.ids, group.vectors).search(query, k * 2)
    threshold = matching.SHOW_THRESHOLD if min_score is None else min_score
    scores = {int(pk): float(score) for pk, score in found if score >= threshold}
    if not scores:
        return []
    rows = {row.pk: row for row in visible(scope, Question, Action.CONSULT).filter(pk__in=list(scores))
            .only("id", "text", "first_answered_at")}
    answers: dict[int, str] = {}
    for question_id, body in (visible(scope, QuestionMessage, Action.CONSULT).filter(question_id__in=list(rows))
                              .order_by("created_at", "id").values_list("question_id", "body")):
        answers.setdefault(question_id, body)
    ranked = sorted((pk for pk in scores if pk in rows), key=lambda pk: -scores[pk])[:k]
    return [Similar(pk, rows[pk].text, answers.get(pk, ""), scores[pk], rows[pk].first_answered_at) for pk in ranked]


def bank_reindex(*, fit: bool = False, batch: int = 2000) -> dict:
    """An operator's command (`yanxiu questions reindex [--fit]`): optionally fit the matcher on
    every stored question (no labels; at least 300 distinct), then encode every question again
    with the matcher in force, so stored vectors and lookups agree."""
    rows = Question.objects.dangerously_unscoped().order_by("id")
    fitted = None
    if fit:
        fitted = matching.fit_matcher(rows.values_list("text", flat=True).distinct().iterator(chunk_size=5000))
    matcher = matching.get_matcher()
    done, after = 0, 0
    while True:
        chunk = list(rows.filter(id__gt=after).only("id", "text")[:batch])
        if not chunk:
            break
        for question, vector in zip(chunk, matcher.encode([q.text for q in chunk]), strict=True):
            question.vector = matching.to_bytes(vector)
        Question.objects.bulk_update(chunk, ["vector"])
        done += len(chunk)
        after = chunk[-1].pk
    forget()
    return {"questions": done, "fingerprint": matcher.fingerprint, "dimension": matcher.dimension,
            "fitted": fitted is not None, "method": matcher.method}
