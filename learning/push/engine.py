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
import threading
from collections.abc import Sequence
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
FIRST_RUN = 64  # sources of a course looked at before the explainer reads further
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
    model_sorted: np.ndarray  # the model's course ids, ascending (history side: looked up in bulk)
    model_order: np.ndarray  # … and the model row of each
    model_ids: np.ndarray  # model row -> course id
    links: sparse.csr_matrix  # model rows × catalogue columns
    # Who points at each catalogue course: for column c, source_rows[source_indptr[c]:source_indptr[c + 1]]
    # are the model rows linking to it, strongest link first (ties: lower row first).
    source_indptr: np.ndarray
    source_rows: np.ndarray
    titles: dict[int, str]
    peer_counts: dict[tuple[str, str], dict[int, int]]
    position: dict[int, int]  # course id -> catalogue index
    ids_sorted: np.ndarray  # the catalogue's ids ascending, and the column of each (bulk lookups)
    ids_order: np.ndarray
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
        source_indptr, source_rows = _sources(links)
        model_order, ids_order = np.argsort(model_ids, kind="stable"), np.argsort(ids, kind="stable")
        return cls(
            cards=cards, ids=ids,
            category=np.asarray([CATEGORY_INDEX.get(c.category, 0) for c in cards], dtype=np.int8),
            required=required, required_columns=np.flatnonzero(required > 0),
            fresh=np.asarray([_is_fresh(c, now) for c in cards], dtype=np.float32),
            featured=np.asarray([c.featured for c in cards], dtype=np.float32),
            model_sorted=model_ids[model_order], model_order=model_order, model_ids=model_ids,
            links=links, source_indptr=source_indptr, source_rows=source_rows, titles=titles,
            peer_counts=peer_counts, position=position, ids_sorted=ids[ids_order], ids_order=ids_order,
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


def _sources(links: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The links transposed (catalogue column → model rows), each column's rows by falling weight."""
    pointing = links.T.tocsr()
    column = np.repeat(np.arange(pointing.shape[0]), np.diff(pointing.indptr))
    order = np.lexsort((pointing.indices, -pointing.data, column))
    return pointing.indptr, pointing.indices[order]


@dataclass(frozen=True)
class Teacher:
    """What the scoring needs of one teacher of the chunk."""

    stage: str
    subjects: frozenset[str]
    home: str  # names the set of courses open to the teacher (teachers alike share its mask)
    open_ids: frozenset[int]
    history: Sequence[int] | np.ndarray  # course ids studied
    filled: frozenset[str]
    missing_required: frozenset[str]
    history_times: Sequence[float] | np.ndarray = ()  # epoch seconds, with `history`
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


def _lookup(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(where each of `wanted` sits in `sorted_ids`, whether it is there at all)."""
    at = np.searchsorted(sorted_ids, wanted)
    at[at == len(sorted_ids)] = 0
    return at, (sorted_ids[at] == wanted) if len(sorted_ids) else np.zeros(len(wanted), dtype=bool)


@dataclass(frozen=True)
class _Histories:
    """A chunk's histories flattened: for each studied course, its teacher (row of the chunk), its
    model row and its catalogue column — numpy over the chunk, no Python per course."""

    rows: list[np.ndarray]  # per teacher, the model rows of the courses the model knows
    block: sparse.csr_matrix  # teachers × model rows, each studied course's weight
    owner: np.ndarray  # per studied course in the catalogue: its teacher
    column: np.ndarray  # … and its catalogue column

    @classmethod
    def of(cls, catalogue: Catalogue, teachers: list[Teacher]) -> _Histories:
        lengths = np.fromiter((len(t.history) for t in teachers), dtype=np.int64, count=len(teachers))
        courses = np.concatenate([np.zeros(0, dtype=np.int64)]
                                 + [np.asarray(t.history, dtype=np.int64) for t in teachers])
        times = np.concatenate([np.zeros(0)] + [np.asarray(t.history_times, dtype=np.float64)
                                                if len(t.history_times) == len(t.history) else np.zeros(len(t.history))
                                                for t in teachers])
        owner = np.repeat(np.arange(len(teachers)), lengths)
        at, known = _lookup(catalogue.model_sorted, courses)
        model_rows, known_owner, known_times = catalogue.model_order[at[known]], owner[known], times[known]
        if catalogue.half_life and len(known_times):
            # Each course's weight: 2^(−age / half-life), the age counted back from the teacher's
            # latest course the model knows (tastes drift).
            latest = np.full(len(teachers), -np.inf)
            np.maximum.at(latest, known_owner, known_times)
            weights = np.exp2(-(latest[known_owner] - known_times) / catalogue.half_life).astype(np.float32)
        else:
            weights = np.ones(len(model_rows), dtype=np.float32)
        indptr = np.r_[0, np.cumsum(np.bincount(known_owner, minlength=len(teachers)))]
        block = sparse.csr_matrix((weights, model_rows, indptr), shape=(len(teachers), len(catalogue.model_ids)))
        at, in_catalogue = _lookup(catalogue.ids_sorted, courses)
        return cls(rows=np.split(model_rows, indptr[1:-1]), block=block, owner=owner[in_catalogue],
                   column=catalogue.ids_order[at[in_catalogue]])


def score(catalogue: Catalogue, teachers: list[Teacher]) -> list[Scored]:
    """Each teacher's short head of the library, with the scores and signals `ranking.rank` needs."""
    n_items, count = catalogue.size, len(teachers)
    if count == 0:
        return []
    if n_items == 0:
        return [Scored(pool=[], scores={}, similar={}, peers={}) for _ in teachers]
    studied = _Histories.of(catalogue, teachers)
    block = studied.block
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
    allowed[studied.owner, studied.column] = False
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
        explain = _Explainer(catalogue, studied.rows[n])
        similar = {pk: Similar(value, explain=partial(explain, column)) for pk, value, column
                   in zip(ids, learned[n, columns].tolist(), columns.tolist(), strict=True) if value > 0}
        results.append(Scored(
            pool=[catalogue.cards[i] for i in columns.tolist()],
            scores=dict(zip(ids, total[n, columns].tolist(), strict=True)), similar=similar,
            peers={pk: value for pk, value in zip(ids, group_peers[group[n], columns].tolist(), strict=True)
                   if value > 0}))
    return results


class _Membership(threading.local):
    """Per thread, one 0/1 array over the model's courses, marking the studied courses of the
    explainer that asked last: a fresh array per teacher (80 KB) cost more than the lookups."""

    array: np.ndarray | None = None
    owner: object = None
    marked: np.ndarray | None = None


_membership = _Membership()


class _Explainer:
    """Which studied course gives a catalogue course most of its learned score: worked out only if
    a reason shows it (most pool courses never reach the list)."""

    def __init__(self, catalogue: Catalogue, history_rows: np.ndarray):
        self.catalogue, self.history_rows = catalogue, history_rows

    def _member(self) -> np.ndarray:
        held, size = _membership, len(self.catalogue.model_ids)
        if held.owner is not self:
            if held.array is None or len(held.array) != size:
                held.array = np.zeros(size, dtype=np.float32)
            elif held.marked is not None:
                held.array[held.marked] = 0.0
            held.array[self.history_rows] = 1.0
            held.owner, held.marked = self, self.history_rows
        assert held.array is not None
        return held.array

    def __call__(self, column: int) -> str:
        """The title of the studied course with the strongest link to `column` ("" if none links to it).
        Its rows come strongest first, so the first studied one is the answer: looked for in a short
        run, then in runs four times longer (popular courses have thousands of sources)."""
        catalogue = self.catalogue
        start, end = int(catalogue.source_indptr[column]), int(catalogue.source_indptr[column + 1])
        member, rows, run = self._member(), catalogue.source_rows, FIRST_RUN
        while start < end:
            studied = member[rows[start:min(end, start + run)]]
            first = int(studied.argmax())
            if studied[first] > 0:
                return catalogue.titles.get(int(catalogue.model_ids[rows[start + first]]), "")
            start, run = start + run, run * 4
        return ""
