"""Blending the signals into one teacher's list, with reasons.

Pure functions over plain values, so the rules are tested without a database; `engine.score`
hands each teacher's short head of the library to `rank` with scores computed in bulk. The learned
signal (courses like the ones the teacher studied, and what their peers study) orders the
list; the policy's needs reserve room in it: required content not yet taken this cycle gets
up to `REQUIRED_SLOTS` places, courses whose ledger category the teacher has already filled
sink (they would earn nothing), and a greedy pass keeps one topic or one provider from
filling the list.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from credits.constants import CATEGORY_LABELS
from learning.constants import RequiredContent
from org.constants import Stage
from people.constants import SUBJECT_LABELS

REQUIRED_SLOTS = 2
FRESH_DAYS = 30
WEIGHTS = {"similar": 0.6, "peers": 0.25, "fit": 0.1, "fresh": 0.03, "featured": 0.02}
SAME_TOPIC_PENALTY = 0.12
SAME_PROVIDER_PENALTY = 0.08
FILLED_CATEGORY_FACTOR = 0.3  # a course whose category is at its cap earns nothing: it sinks
REQUIRED_LABELS = dict(RequiredContent.choices)
STAGE_LABELS = dict(Stage.choices)


@dataclass(frozen=True)
class CourseCard:
    """What the ranking knows of an open course."""

    id: int
    title: str
    stages: frozenset[str]
    subjects: frozenset[str]
    topics: tuple[str, ...]
    required: frozenset[str]
    category: str
    provider_id: int
    featured: bool = False
    published_at: dt.datetime | None = None


@dataclass(frozen=True)
class TeacherNeeds:
    teacher_id: int
    stage: str
    subjects: frozenset[str]
    # This cycle: hours a category lacks of its minimum, hours the cycle lacks overall, and the
    # categories at their cap (more hours there count for nothing).
    short: dict[str, Decimal] = field(default_factory=dict)
    owed_total: Decimal = Decimal(0)
    filled: frozenset[str] = frozenset()
    missing_required: frozenset[str] = frozenset()
    seen: frozenset[int] = frozenset()  # courses enrolled in or completed: never pushed again


@dataclass(frozen=True)
class Similar:
    """The learned signal for one course: a score in [0, 1] and the studied course it comes from."""

    score: float
    because: str = ""  # the title of the teacher's course that contributed most
    explain: Callable[[], str] | None = None  # or how to find it, when it is costly

    def source(self) -> str:
        return self.because or (self.explain() if self.explain else "")


@dataclass(frozen=True)
class Pick:
    course_id: int
    score: float
    reason: str
    signal: str  # which need or signal put it here: required, similar, peers, owed, fresh, featured, fit


def _fit(needs: TeacherNeeds, card: CourseCard) -> float:
    """1 for a course made for the teacher's stage and subject, less for a general one, 0 for another stage's."""
    stage_ok = not card.stages or needs.stage in card.stages
    if not stage_ok:
        return 0.0
    if not card.subjects:
        return 0.6
    return 1.0 if card.subjects & needs.subjects else 0.2


def _is_fresh(card: CourseCard, now: dt.datetime) -> bool:
    return card.published_at is not None and (now - card.published_at).days < FRESH_DAYS


def base_score(needs: TeacherNeeds, card: CourseCard, similar: Similar | None, peers: float, now: dt.datetime) -> float:
    score = (WEIGHTS["similar"] * (similar.score if similar else 0.0) + WEIGHTS["peers"] * peers
             + WEIGHTS["fit"] * _fit(needs, card) + WEIGHTS["fresh"] * _is_fresh(card, now)
             + WEIGHTS["featured"] * card.featured)
    if card.category in needs.filled:
        score *= FILLED_CATEGORY_FACTOR
    return score


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _peers_label(needs: TeacherNeeds) -> str:
    stage = STAGE_LABELS.get(needs.stage, "")
    subjects = "、".join(SUBJECT_LABELS.get(s, s) for s in sorted(needs.subjects)[:2])
    return f"{stage}{subjects}" if stage or subjects else "同学段同学科"


def reasons(needs: TeacherNeeds, card: CourseCard, similar: Similar | None, peers: float,
            now: dt.datetime) -> tuple[str, str]:
    """The main reason (and its signal code), followed by the hours it would earn where that is owed."""
    missing = sorted(card.required & needs.missing_required)
    if missing:
        main, signal = f"你本周期尚未完成必修的{REQUIRED_LABELS.get(missing[0], missing[0])}内容", "required"
    else:
        learned = WEIGHTS["similar"] * (similar.score if similar else 0.0)
        if similar and learned >= WEIGHTS["peers"] * peers and learned > 0 and similar.source():
            main, signal = f"与你学过的《{similar.source()}》相关", "similar"
        elif peers > 0:
            main, signal = f"与你同学段同学科的老师常学（{_peers_label(needs)}）", "peers"
        elif card.category in needs.short or (needs.owed_total and card.category not in needs.filled):
            main, signal = "", "owed"
        elif _is_fresh(card, now):
            main, signal = "新上线课程", "fresh"
        elif card.featured:
            main, signal = "精品资源共享课", "featured"
        else:
            main, signal = f"适合{_peers_label(needs)}教师", "fit"
    extra = ""
    if needs.short.get(card.category):
        extra = f"本周期{CATEGORY_LABELS.get(card.category, card.category)}还差 {_hours(needs.short[card.category])} 学时"
    elif needs.owed_total and card.category not in needs.filled:
        extra = f"本周期还差 {_hours(needs.owed_total)} 学时，可计入{CATEGORY_LABELS.get(card.category, card.category)}"
    text = "；".join(part for part in (main, extra) if part) or f"适合{_peers_label(needs)}教师"
    return text, signal


def rank(needs: TeacherNeeds, cards: list[CourseCard], *, similar: dict[int, Similar], peers: dict[int, float],
         now: dt.datetime, k: int = 10, scores: dict[int, float] | None = None) -> list[Pick]:
    """The teacher's top `k` among `cards` (the courses open to them), never one they have seen.
    `scores` are the base scores when the caller computed them in bulk (`engine.score`)."""
    open_cards = [card for card in cards if card.id not in needs.seen]
    scored = {card.id: scores[card.id] if scores is not None else
              base_score(needs, card, similar.get(card.id), peers.get(card.id, 0.0), now) for card in open_cards}
    by_id = {card.id: card for card in open_cards}
    chosen: list[CourseCard] = []
    # Required content first: the best-scored course for each missing content, in up to REQUIRED_SLOTS places.
    for content in sorted(needs.missing_required):
        if len(chosen) >= min(REQUIRED_SLOTS, k):
            break
        covering = [card for card in open_cards if content in card.required and card not in chosen
                    and _fit(needs, card) > 0]
        if covering:
            chosen.append(max(covering, key=lambda card: (scored[card.id], -card.id)))
    topics: Counter[str] = Counter(card.topics[0] for card in chosen if card.topics)
    providers: Counter[int] = Counter(card.provider_id for card in chosen)

    def adjusted(card: CourseCard) -> float:
        topic_repeats = topics[card.topics[0]] if card.topics else 0
        provider_repeats = max(0, providers[card.provider_id] - 2)
        return scored[card.id] - SAME_TOPIC_PENALTY * topic_repeats - SAME_PROVIDER_PENALTY * provider_repeats

    # Greedy diversity, lazily: penalties only grow, so a course whose penalised score is still the
    # best of the heap's stored scores is the best of all; others go back with their new score.
    heap = [(-scored[card.id], card.id) for card in open_cards if card not in chosen]
    heapq.heapify(heap)
    while len(chosen) < k and heap:
        _, pk = heapq.heappop(heap)
        key = (-adjusted(by_id[pk]), pk)
        if heap and key > heap[0]:
            heapq.heappush(heap, key)
            continue
        best = by_id[pk]
        chosen.append(best)
        if best.topics:
            topics[best.topics[0]] += 1
        providers[best.provider_id] += 1
    picks = []
    for card in chosen:
        text, signal = reasons(needs, by_id[card.id], similar.get(card.id), peers.get(card.id, 0.0), now)
        picks.append(Pick(course_id=card.id, score=round(scored[card.id], 4), reason=text, signal=signal))
    return picks
