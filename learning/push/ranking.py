"""Blending the signals into one teacher's list, with reasons.

Pure functions over plain values, so the rules are tested without a database; `engine.score`
hands each teacher's short head of the library to `rank` with scores computed in bulk. The learned
signal (courses like the ones the teacher studied, and what their peers study) orders the
list; the policy's needs reserve room in it: required content not yet taken this cycle gets
up to `REQUIRED_SLOTS` places, courses whose ledger category the teacher has already filled
sink (they would earn nothing), the capability a teacher's latest post-training assessment found
weakest gets one place, and a greedy pass keeps one topic or one provider from filling the list.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from catalog.constants import Topic
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
TOPIC_LABELS = dict(Topic.choices)


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
    # The library topic (a capability) the teacher's latest 训后 assessment found weakest, if any.
    weak_topic: str = ""


class Similar(NamedTuple):
    """The learned signal for one course: a score in [0, 1] and the studied course it comes from.
    (A named tuple: the batch makes some twenty per teacher, and a frozen dataclass is slower to build.)"""

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
    signal: str  # which need or signal put it here: required, weak, similar, peers, owed, fresh, featured, fit


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
    return _group_label(needs.stage, needs.subjects)


# The same few phrases are written for millions of teachers: made once each.
@lru_cache(maxsize=4096)
def _group_label(stage: str, subjects: frozenset[str]) -> str:
    stage_label = STAGE_LABELS.get(stage, "")
    subject_labels = "、".join(SUBJECT_LABELS.get(s, s) for s in sorted(subjects)[:2])
    return f"{stage_label}{subject_labels}" if stage_label or subject_labels else "同学段同学科"


@lru_cache(maxsize=65536)
def _hours_clause(category: str, short: Decimal | None, owed_total: Decimal, filled: bool) -> str:
    label = CATEGORY_LABELS.get(category, category)
    if short:
        return f"本周期{label}还差 {_hours(short)} 学时"
    if owed_total and not filled:
        return f"本周期还差 {_hours(owed_total)} 学时，可计入{label}"
    return ""


def reasons(needs: TeacherNeeds, card: CourseCard, similar: Similar | None, peers: float,
            now: dt.datetime) -> tuple[str, str]:
    """The main reason (and its signal code), with the hours the course's category still lacks."""
    missing = sorted(card.required & needs.missing_required)
    if missing:
        main, signal = f"你本周期尚未完成必修的{REQUIRED_LABELS.get(missing[0], missing[0])}内容", "required"
    elif needs.weak_topic and needs.weak_topic in card.topics:
        main, signal = f"训后测评显示你的{TOPIC_LABELS.get(needs.weak_topic, needs.weak_topic)}有待提升", "weak"
    else:
        learned = WEIGHTS["similar"] * (similar.score if similar else 0.0)
        source = similar.source() if similar and learned >= WEIGHTS["peers"] * peers and learned > 0 else ""
        if source:
            main, signal = f"与你学过的《{source}》相关", "similar"
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
    # The category's own shortfall is always worth saying; the cycle's overall shortfall only when
    # nothing else explains the course (on every line it would be noise).
    short = needs.short.get(card.category)
    extra = _hours_clause(card.category, short, needs.owed_total, card.category in needs.filled) \
        if short or not main else ""
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
    taken_ids: set[int] = set()
    # Required content first: the best-scored course for each missing content, in up to REQUIRED_SLOTS places.
    for content in sorted(needs.missing_required):
        if len(chosen) >= min(REQUIRED_SLOTS, k):
            break
        covering = [card for card in open_cards if content in card.required and card.id not in taken_ids
                    and _fit(needs, card) > 0]
        if covering:
            chosen.append(max(covering, key=lambda card: (scored[card.id], -card.id)))
            taken_ids.add(chosen[-1].id)
    # The weakest capability after training: its best course, unless one is listed already.
    if needs.weak_topic and len(chosen) < k and not any(needs.weak_topic in card.topics for card in chosen):
        covering = [card for card in open_cards if needs.weak_topic in card.topics and card.id not in taken_ids
                    and _fit(needs, card) > 0]
        if covering:
            chosen.append(max(covering, key=lambda card: (scored[card.id], -card.id)))
            taken_ids.add(chosen[-1].id)
    topics: Counter[str | None] = Counter(card.topics[0] if card.topics else None for card in chosen)
    providers: Counter[int] = Counter(card.provider_id for card in chosen)
    # Greedy diversity: each place goes to the best score after penalties for a topic already
    # listed and for a provider listed more than twice (ties to the lower id). The pool is a few
    # dozen courses, so a plain pass over plain tuples is cheapest.
    taken = {card.id for card in chosen}
    left = [(scored[c.id], c.id, c.topics[0] if c.topics else None, c.provider_id) for c in open_cards
            if c.id not in taken]
    # `left` is in falling score order and a penalty only lowers a score, so the scan stops at the
    # first course whose score is below the best worth found.
    left.sort(key=lambda item: (-item[0], item[1]))
    # The penalties so far, per topic and per provider (kept up to date as places fill).
    topic_penalty: dict[str | None, float] = {topic: SAME_TOPIC_PENALTY * n for topic, n in topics.items()
                                              if topic is not None}
    provider_penalty = {provider: SAME_PROVIDER_PENALTY * max(0, n - 2) for provider, n in providers.items()}
    while len(chosen) < k and left:
        best_at, best_worth, best_pk = 0, -math.inf, 0
        for n, (value, pk, topic, provider) in enumerate(left):
            if value < best_worth:
                break
            worth = value - topic_penalty.get(topic, 0.0) - provider_penalty.get(provider, 0.0)
            if worth > best_worth or (worth == best_worth and pk < best_pk):
                best_at, best_worth, best_pk = n, worth, pk
        _, pk, topic, provider = left.pop(best_at)
        chosen.append(by_id[pk])
        if topic is not None:
            topics[topic] += 1
            topic_penalty[topic] = SAME_TOPIC_PENALTY * topics[topic]
        providers[provider] += 1
        provider_penalty[provider] = SAME_PROVIDER_PENALTY * max(0, providers[provider] - 2)
    picks = []
    for card in chosen:
        text, signal = reasons(needs, by_id[card.id], similar.get(card.id), peers.get(card.id, 0.0), now)
        picks.append(Pick(course_id=card.id, score=round(scored[card.id], 4), reason=text, signal=signal))
    return picks
