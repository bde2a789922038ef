"""Scoring teachers in bulk: the whole library for a chunk of teachers as a few numpy operations.

For a chunk of teachers, every open course gets

    0.6 · learned + 0.25 · peers + 0.1 · fit + 0.03 · fresh + 0.02 · featured

(the weights of `ranking.WEIGHTS`), where `learned` is the item-item model's score of the
teacher's history (one sparse product for the chunk, normalised to each teacher's best),
`peers` and `fit` are vectors of the teacher's stage and subjects, computed once per such group.
A course of a category the teacher has filled sinks; a course already studied or not open to
the teacher is out. Only each teacher's short head (`POOL`, plus the best course for each
required content they lack) goes on to `ranking.rank`, which reserves the required places,
keeps the list diverse and writes the reasons: Python touches a few dozen courses per teacher,
never the library. The batch and one teacher on demand run this same code, so they agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import sparse

from credits.constants import Category
from learning.constants import RequiredContent
from learning.push.ranking import (
    FILLED_CATEGORY_FACTOR,
    WEIGHTS,
    CourseCard,
    Similar,
    _is_fresh,
)

POOL = 20
REQUIRED_BITS = {code: 1 << n for n, code in enumerate(RequiredContent.values)}
CATEGORY_INDEX = {code: n for n, code in enumerate(Category.values)}


@dataclass
class Catalogue:
    """The published courses as arrays (index i ↔ cards[i]), with the learned links re-indexed
    from the model's courses (rows: anything a teacher may have studied) to these (columns)."""

    cards: list[CourseCard]
    ids: np.ndarray
    category: np.ndarray
    required: np.ndarray
    fresh: np.ndarray
    featured: np.ndarray
    model_index: dict[int, int]  # course id -> model row (history side)
    model_ids: np.ndarray  # model row -> course id
    links: sparse.csr_matrix  # model rows × catalogue columns
    sources: sparse.csr_matrix  # catalogue columns × model rows (links transposed): who points at a course
    titles: dict[int, str]
    peer_counts: dict[tuple[str, str], dict[int, int]]
    position: dict[int, int]  # course id -> catalogue index
    trend: np.ndarray  # per catalogue course, 0…1 (the model's "taking off" prior)
    trend_weight: float
    half_life: float | None  # seconds; history courses this much older than the latest weigh half
    required_columns: np.ndarray  # the courses that carry some required content
    _fit: dict[tuple[str, frozenset[str]], np.ndarray] = field(default_factory=dict)
    _marked: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _peers: dict[tuple, np.ndarray] = field(default_factory=dict)
    _open: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.cards)

    @classmethod
    def build(cls, cards: list[CourseCard], *, now: dt.datetime, model_ids: np.ndarray | None,
              model_links: sparse.csr_matrix | None, titles: dict[int, str],
              peer_counts: dict[tuple[str, str], dict[int, int]], model_trend: np.ndarray | None = None,
              trend_weight: float = 0.0, half_life: float | None = None) -> Catalogue:
        ids = np.asarray([c.id for c in cards], dtype=np.int64)
        position = {int(pk): n for n, pk in enumerate(ids)}
        trend = np.zeros(len(cards), dtype=np.float32)
        required = np.asarray([sum(REQUIRED_BITS.get(r, 0) for r in c.required) for c in cards], dtype=np.int16)
        if model_ids is None or model_links is None:
            model_ids = np.zeros(0, dtype=np.int64)
            links = sparse.csr_matrix((0, len(cards)), dtype=np.float32)
        else:
            if model_trend is not None:
                for n, pk in enumerate(model_ids.tolist()):
                    if pk in position:
                        trend[position[pk]] = model_trend[n]
            # Keep the model's columns that are catalogue courses, placed at their catalogue index.
            rows = [n for n, pk in enumerate(model_ids.tolist()) if pk in position]
            select = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32),
                                        (rows, [position[int(model_ids[n])] for n in rows])),
                                       shape=(len(model_ids), len(cards)))
            links = (model_links @ select).tocsr()
        return cls(
            cards=cards, ids=ids,
            category=np.asarray([CATEGORY_INDEX.get(c.category, 0) for c in cards], dtype=np.int8),
            required=required, required_columns=np.flatnonzero(required > 0),
            fresh=np.asarray([_is_fresh(c, now) for c in cards], dtype=np.float32),
            featured=np.asarray([c.featured for c in cards], dtype=np.float32),
            model_index={int(pk): n for n, pk in enumerate(model_ids.tolist())}, model_ids=model_ids,
            links=links, sources=links.T.tocsr(), titles=titles, peer_counts=peer_counts, position=position,
            trend=trend, trend_weight=trend_weight if trend.any() else 0.0, half_life=half_life)

    def fit_vector(self, stage: str, subjects: frozenset[str]) -> np.ndarray:
        """`ranking._fit` for every course at once: 1 made for the stage and a subject, 0.6 general,
        0.2 another subject's, 0 another stage's."""
        key = (stage, subjects)
        if key not in self._fit:
            stage_ok = self._marks("stage", stage)
            general = self._marks("subject", "")
            matches = np.zeros(self.size, dtype=bool)
            for subject in subjects:
                matches |= self._marks("subject", subject)
            self._fit[key] = np.where(stage_ok, np.where(general, 0.6, np.where(matches, 1.0, 0.2)), 0.0).astype(
                np.float32)
        return self._fit[key]

    def _marks(self, kind: str, code: str) -> np.ndarray:
        """Courses open to a stage (made for it, or for every stage) / made for a subject ("" = for none) /
        on a topic."""
        key = (kind, code)
        if key not in self._marked:
            if kind == "stage":
                marks = [not c.stages or code in c.stages for c in self.cards]
            elif kind == "topic":
                marks = [code in c.topics for c in self.cards]
            else:
                marks = [(not c.subjects) if code == "" else code in c.subjects for c in self.cards]
            self._marked[key] = np.asarray(marks, dtype=bool)
        return self._marked[key]

    def peer_vector(self, stage: str, subjects: frozenset[str]) -> np.ndarray:
        key = (stage, subjects)
        if key not in self._peers:
            vector = np.zeros(self.size, dtype=np.float32)
            position = self.position
            for subject in subjects:
                counts = self.peer_counts.get((stage, subject), {})
                top = max(counts.values(), default=0)
                for course_id, learners in counts.items():
                    n = position.get(course_id)
                    if n is not None:
                        vector[n] = max(vector[n], learners / top)
            self._peers[key] = vector
        return self._peers[key]

    def sink_mask(self, filled: frozenset[str]) -> np.ndarray:
        """The courses of the categories a teacher has filled (a handful of distinct sets)."""
        key = ("sink", ",".join(sorted(filled)))
        if key not in self._marked:
            self._marked[key] = np.isin(self.category, [CATEGORY_INDEX[c] for c in filled])
        return self._marked[key]

    def open_mask(self, home: str, open_ids: frozenset[int]) -> np.ndarray:
        if home not in self._open:
            self._open[home] = np.isin(self.ids, np.fromiter(open_ids, dtype=np.int64, count=len(open_ids)))
        return self._open[home]


@dataclass(frozen=True)
class Teacher:
    """What the scoring needs of one teacher of the chunk."""

    stage: str
    subjects: frozenset[str]
    home: str
    open_ids: frozenset[int]
    history: list[int]  # course ids studied
    filled: frozenset[str]
    missing_required: frozenset[str]
    history_times: list[float] = field(default_factory=list)  # epoch seconds, with `history`
    weak_topic: str = ""  # the capability the latest 训后 assessment found weakest


@dataclass(frozen=True)
class Scored:
    pool: list[CourseCard]
    scores: dict[int, float]
    similar: dict[int, Similar]
    peers: dict[int, float]


def top_columns(scores: np.ndarray, take: int, block: int = 128) -> np.ndarray:
    """Each row's `take` best columns (in no order; ties broken arbitrarily). A row's best values lie
    in the `take` blocks of columns with the highest maxima, so only those are partitioned: a
    block maximum is a cheap reduction, a full partition of 20,000 columns is not."""
    rows, width = scores.shape
    if take >= width or width <= 4 * take * block:
        return np.argpartition(scores, width - take, axis=1)[:, width - take:]
    blocks = -(-width // block)
    padded = np.full((rows, blocks * block), -np.inf, dtype=scores.dtype)
    padded[:, :width] = scores
    tiles = padded.reshape(rows, blocks, block)
    best_blocks = np.argpartition(tiles.max(axis=2), blocks - take, axis=1)[:, blocks - take:]
    gathered = np.take_along_axis(tiles, best_blocks[:, :, None], axis=1).reshape(rows, take * block)
    within = np.argpartition(gathered, take * block - take, axis=1)[:, take * block - take:]
    return best_blocks[np.arange(rows)[:, None], within // block] * block + within % block


def _history_weights(catalogue: Catalogue, teachers: list[Teacher]) -> np.ndarray:
    """Each history course's weight, in the order of the rows: 1, or 2^(−age / half-life) with the
    age counted back from the teacher's latest course (tastes drift)."""
    weights: list[float] = []
    for t in teachers:
        known = [(c, at) for c, at in zip(t.history, t.history_times or [0.0] * len(t.history), strict=True)
                 if c in catalogue.model_index]
        if catalogue.half_life and known:
            latest = max(at for _, at in known)
            weights.extend(2.0 ** (-(latest - at) / catalogue.half_life) for _, at in known)
        else:
            weights.extend(1.0 for _ in known)
    return np.asarray(weights, dtype=np.float32)


def score(catalogue: Catalogue, teachers: list[Teacher]) -> list[Scored]:
    """Each teacher's short head of the library, with the scores and signals `ranking.rank` needs."""
    n_items, count = catalogue.size, len(teachers)
    if count == 0:
        return []
    if n_items == 0:
        return [Scored(pool=[], scores={}, similar={}, peers={}) for _ in teachers]
    rows = [[catalogue.model_index[c] for c in t.history if c in catalogue.model_index] for t in teachers]
    indptr = np.cumsum([0] + [len(r) for r in rows])
    block = sparse.csr_matrix((_history_weights(catalogue, teachers),
                               np.asarray([i for r in rows for i in r], dtype=np.int64), indptr),
                              shape=(count, len(catalogue.model_ids)))
    learned = (block @ catalogue.links).toarray() if block.nnz else np.zeros((count, n_items), dtype=np.float32)
    peak = learned.max(axis=1, keepdims=True)
    peak[peak <= 0] = 1.0
    learned /= peak
    if catalogue.trend_weight > 0:  # as the evaluated ranking does: the prior added to the normalised score
        learned += catalogue.trend_weight * catalogue.trend
        peak = learned.max(axis=1, keepdims=True)
        peak[peak <= 0] = 1.0
        learned /= peak
    # float32 throughout, in place: a chunk is CHUNK × courses, the largest arrays of the batch.
    # What does not depend on the history is a vector per stage and subjects: the chunk's few
    # groups are summed once and each teacher's row gathered from them.
    groups: dict[tuple[str, frozenset[str]], int] = {}
    group = np.asarray([groups.setdefault((t.stage, t.subjects), len(groups)) for t in teachers], dtype=np.int64)
    group_peers = np.stack([catalogue.peer_vector(stage, subjects) for stage, subjects in groups])
    group_fits = np.stack([catalogue.fit_vector(stage, subjects) for stage, subjects in groups])
    prior = np.float32(WEIGHTS["peers"]) * group_peers + np.float32(WEIGHTS["fit"]) * group_fits
    prior += np.float32(WEIGHTS["fresh"]) * catalogue.fresh + np.float32(WEIGHTS["featured"]) * catalogue.featured
    total = learned * np.float32(WEIGHTS["similar"])
    total += prior[group]
    for n, t in enumerate(teachers):
        if t.filled:
            total[n, catalogue.sink_mask(t.filled)] *= np.float32(FILLED_CATEGORY_FACTOR)
    allowed = np.stack([catalogue.open_mask(t.home, t.open_ids) for t in teachers])
    for n, t in enumerate(teachers):
        studied = [catalogue.position[c] for c in t.history if c in catalogue.position]
        allowed[n, studied] = False
    total[~allowed] = -np.inf
    take = min(POOL, n_items)
    head = top_columns(total, take)
    # For each required content: every teacher's best course of it they may take (not another
    # stage's), looked for among the few required-content columns only.
    required_best = {}
    carrying = catalogue.required_columns
    if len(carrying):
        sub_total, sub_allowed, sub_fits = total[:, carrying], allowed[:, carrying], group_fits[:, carrying][group]
        for content, bit in REQUIRED_BITS.items():
            if any(content in t.missing_required for t in teachers):
                covering = sub_allowed & ((catalogue.required[carrying] & bit) > 0)[None, :] & (sub_fits > 0)
                best = np.argmax(np.where(covering, sub_total, np.float32(-np.inf)), axis=1)
                required_best[content] = np.where(covering[np.arange(count), best], carrying[best], -1)
    results = []
    for n, t in enumerate(teachers):
        chosen = set(head[n][np.isfinite(total[n, head[n]])].tolist())
        for content in t.missing_required:
            if content in required_best and required_best[content][n] >= 0:
                chosen.add(int(required_best[content][n]))
        if t.weak_topic:  # the best course on the weakest capability, for `rank`'s place for it
            covering = catalogue._marks("topic", t.weak_topic) & allowed[n] & (group_fits[group[n]] > 0)
            if covering.any():
                chosen.add(int(np.argmax(np.where(covering, total[n], np.float32(-np.inf)))))
        columns = np.asarray(sorted(chosen), dtype=np.int64)
        ids = catalogue.ids[columns].tolist()
        explain = _Explainer(catalogue, rows[n])
        similar = {pk: Similar(value, explain=partial(explain, column)) for pk, value, column
                   in zip(ids, learned[n, columns].tolist(), columns.tolist(), strict=True) if value > 0}
        results.append(Scored(
            pool=[catalogue.cards[i] for i in columns.tolist()],
            scores=dict(zip(ids, total[n, columns].tolist(), strict=True)), similar=similar,
            peers={pk: value for pk, value in zip(ids, group_peers[group[n], columns].tolist(), strict=True)
                   if value > 0}))
    return results


class _Explainer:
    """Which studied course gives a catalogue course most of its learned score: worked out only if
    a reason shows it (most pool courses never reach the list)."""

    def __init__(self, catalogue: Catalogue, history_rows: list[int]):
        self.catalogue, self.history_rows = catalogue, history_rows
        self.member: np.ndarray | None = None

    def __call__(self, column: int) -> str:
        catalogue = self.catalogue
        if self.member is None:
            self.member = np.zeros(len(catalogue.model_ids), dtype=bool)
            self.member[self.history_rows] = True
        start, end = catalogue.sources.indptr[column], catalogue.sources.indptr[column + 1]
        rows, weights = catalogue.sources.indices[start:end], catalogue.sources.data[start:end]
        shared = self.member[rows]
        if not shared.any():
            return ""
        best = rows[shared][weights[shared].argmax()]  # the method: np.argmax's dispatch costs more here
        return catalogue.titles.get(int(catalogue.model_ids[best]), "")
