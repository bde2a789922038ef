"""The platform's course ranking: pruned item-to-item links that explain themselves.

The links (see `fitting`: EASE blended with a RP3beta random walk, each course keeping only its
`neighbours` strongest links, so the matrix is sparse) score a user with history H as

    s_i = Σ_{j ∈ H} w_j · B[j, i]  (normalised to the user's best score)  + β · trend_i

where w_j = 2^(−age_j / half_life) weighs each history item by how long before the user's
latest event it was (tastes drift), and trend_i is the item's share of enrolments in the
last window of training (courses that are taking off; 0…1). Items the user has are never
ranked. Every score is a sum of named history items, so each recommendation can say which
of the user's courses it comes from (`because`), the item with the largest w_j · B[j, i].

Serving: one user on demand is a handful of sparse row reads and one pass over the items
(a few milliseconds at 20 k); the whole population is scored in chunks as sparse × sparse
products.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from learning.recommend.fitting import (
    ItemStatistics,
    blended_links,
    ease_weights,
    interaction_matrix,
    item_statistics,
    trend_share,
    walk_weights,
)
from learning.recommend.scoring import top_k_unseen


@dataclass(frozen=True)
class RankerParams:
    l2: float = 200.0  # EASE's λ: larger pulls weights towards popular co-occurrence
    walk_share: float = 0.0  # share of the RP3beta random walk in the links (0 = EASE alone, 1 = walk alone)
    neighbours: int = 200  # links kept per item
    half_life: float | None = None  # seconds; None = the whole history weighs the same
    fit_half_life: float | None = None  # seconds; co-occurrences fade with age before the end of training
    trend_weight: float = 0.0  # β
    trend_window: float = 0.0  # seconds before the end of training that count as "recent"


@dataclass(frozen=True)
class Recommendation:
    item: int
    score: float
    because: int  # the history item that contributed most, or -1 (trend alone)


class NeighbourModel:
    """A fitted model over items 0…n_items-1 (the caller maps its own ids)."""

    def __init__(self, links: sp.csr_matrix, trend: np.ndarray, params: RankerParams):
        self.links = links  # row j: the items j points to, with their weights
        self.trend = trend.astype(np.float32)
        self.params = params

    @property
    def n_items(self) -> int:
        return self.links.shape[0]

    # ---- fitting -------------------------------------------------------------------------

    @classmethod
    def fit(cls, users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, n_users: int, n_items: int,
            params: RankerParams, blas_threads: int | None = None) -> NeighbourModel:
        matrix = interaction_matrix(users, items, n_users, n_items, timestamps, params.fit_half_life)
        statistics = item_statistics(matrix, walk=params.walk_share > 0)
        links = links_from_statistics(statistics, params, blas_threads, overwrite=True)
        return cls(links, trend_share(items, timestamps, n_items, params.trend_window), params)

    def with_params(self, items: np.ndarray, timestamps: np.ndarray, params: RankerParams) -> NeighbourModel:
        """The same links with other serving parameters (recency, trend): no refit needed."""
        return NeighbourModel(self.links, trend_share(items, timestamps, self.n_items, params.trend_window),
                              replace(params, l2=self.params.l2, neighbours=self.params.neighbours,
                                      fit_half_life=self.params.fit_half_life, walk_share=self.params.walk_share))

    # ---- serving -------------------------------------------------------------------------

    def history_weights(self, times: np.ndarray | None, count: int) -> np.ndarray:
        if times is None or self.params.half_life is None or count == 0:
            return np.ones(count, dtype=np.float32)
        age = times.max() - times
        return np.exp2(-age / self.params.half_life).astype(np.float32)

    def recommend(self, history: np.ndarray, times: np.ndarray | None = None, k: int = 10,
                  exclude: np.ndarray | None = None) -> list[Recommendation]:
        """One user's top k from their history (item indices, with the times they were taken).

        `exclude` adds items the caller rules out (completed, retired, not open to the user).
        """
        history = np.asarray(history, dtype=np.int64)
        weights = self.history_weights(None if times is None else np.asarray(times, dtype=np.float64), len(history))
        history, weights = _latest_per_item(history, weights)
        rows = self.links[history]
        contributions = sp.csr_matrix(rows.multiply(weights[:, None]))
        scores = np.asarray(contributions.sum(axis=0), dtype=np.float32).ravel()
        scores = self._blend(scores[None, :])[0]
        blocked = history if exclude is None else np.union1d(history, np.asarray(exclude, dtype=np.int64))
        seen = sp.csr_matrix((np.ones(len(blocked), dtype=np.float32), (np.zeros(len(blocked), dtype=np.int64),
                                                                          blocked)), shape=(1, self.n_items))
        best = top_k_unseen(scores[None, :].copy(), seen, k)[0]
        best = best[best >= 0]
        because = _strongest_source(contributions.tocsc(), history, best)
        return [Recommendation(int(item), float(scores[item]), int(source)) for item, source in zip(best, because,
                                                                                                     strict=True)]

    def recommend_batch(self, weighted: sp.csr_matrix, k: int, chunk: int = 2048, explain: bool = False,
                        excluded: sp.csr_matrix | None = None,
                        closed_items: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Top k for every row of `weighted` (users × items, the history weights w_j).

        `excluded` (users × items, any nonzero) rules out items per user (completed, not open to
        them); `closed_items` rules items out for everyone (retired). Returns (items, because),
        each users × k with -1 padding; `because` only when asked.
        """
        weighted = weighted.tocsr()
        n_users = weighted.shape[0]
        best = np.full((n_users, k), -1, dtype=np.int64)
        because = np.full((n_users, k), -1, dtype=np.int64) if explain else None
        # One scores buffer for every block: a fresh 20 k-wide block each time costs more in page
        # faults than in arithmetic.
        buffer = np.empty((min(chunk, n_users), self.n_items), dtype=np.float32)
        for start in range(0, n_users, chunk):
            block = weighted[start:start + chunk]
            scores = buffer[:block.shape[0]]
            (block @ self.links).astype(np.float32).toarray(out=scores)
            scores = self._blend(scores)
            if closed_items is not None:
                scores[:, closed_items] = -np.inf
            ruled_out = block if excluded is None else (abs(block) + abs(excluded[start:start + chunk])).tocsr()
            top = top_k_unseen(scores, ruled_out, k)
            best[start:start + len(top)] = top
            if because is not None:
                because[start:start + len(top)] = self._strongest_sources(block, top)
        return best, because

    def _blend(self, scores: np.ndarray) -> np.ndarray:
        """Adds the trend prior to scores normalised per user (in place: batch blocks are large)."""
        if self.params.trend_weight <= 0:
            return scores
        # Links and history weights are positive, so the best score is the largest (no |s| copy).
        peak = scores.max(axis=1, keepdims=True)
        peak[peak <= 0] = 1.0
        scores /= peak
        scores += self.params.trend_weight * self.trend[None, :]
        return scores

    def _strongest_sources(self, block: sp.csr_matrix, top: np.ndarray) -> np.ndarray:
        """For each (user, slot) the history item j with the largest w_j · B[j, top]; -1 if none > 0."""
        n_rows, k = top.shape
        lengths = np.diff(block.indptr)
        user_of = np.repeat(np.arange(n_rows), lengths)  # per history entry
        entry_user = np.repeat(user_of, k)
        entry_slot = np.tile(np.arange(k), len(user_of))
        sources = np.repeat(block.indices, k)
        targets = top[entry_user, entry_slot]
        valid = targets >= 0
        values = np.full(len(targets), -np.inf, dtype=np.float32)
        if valid.any():
            looked_up = np.asarray(self.links[sources[valid], targets[valid]]).ravel()
            values[valid] = looked_up * np.repeat(block.data, k)[valid]
        # Lay the values out slot-major within each user, so each (user, slot) is one segment.
        position = np.arange(len(user_of)) - np.repeat(block.indptr[:-1], lengths)
        destination = (np.repeat(block.indptr[:-1][user_of] * k, k) + entry_slot * np.repeat(lengths[user_of], k)
                       + np.repeat(position, k))
        laid = np.empty_like(values)
        laid[destination] = values
        source_laid = np.empty_like(sources)
        source_laid[destination] = sources
        result = np.full((n_rows, k), -1, dtype=np.int64)
        has_history = lengths > 0
        if not has_history.any():
            return result
        segment_users = np.repeat(np.flatnonzero(has_history), k)
        segment_slots = np.tile(np.arange(k), has_history.sum())
        starts = block.indptr[:-1][segment_users] * k + segment_slots * lengths[segment_users]
        peaks = np.maximum.reduceat(laid, starts)
        # First position in each segment that reaches its peak.
        segment_of = np.repeat(np.arange(len(starts)), lengths[segment_users])
        is_peak = laid == peaks[segment_of]
        first = np.full(len(starts), len(laid), dtype=np.int64)
        np.minimum.at(first, segment_of[is_peak], np.flatnonzero(is_peak))
        chosen = np.where(peaks > 0, source_laid[np.minimum(first, len(laid) - 1)], -1)
        result[segment_users, segment_slots] = chosen
        return result


def links_from_statistics(statistics: ItemStatistics, params: RankerParams, blas_threads: int | None = None,
                          overwrite: bool = False) -> sp.csr_matrix:
    """The pruned blend of EASE and the random walk (`overwrite` lets the solve reuse the sums' memory)."""
    degree = np.diag(statistics.gram).copy()
    walk = None
    if params.walk_share > 0:
        assert statistics.walk is not None
        walk = walk_weights(statistics.walk, degree, overwrite=overwrite)
    ease = ease_weights(statistics.gram, params.l2, blas_threads, overwrite=overwrite) if params.walk_share < 1 \
        else None
    return blended_links(ease, walk, params.walk_share, params.neighbours)


def _latest_per_item(history: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One entry per item, keeping its largest weight (its latest use)."""
    if len(history) == 0:
        return history, weights
    order = np.lexsort((-weights, history))
    history, weights = history[order], weights[order]
    first = np.ones(len(history), dtype=bool)
    first[1:] = history[1:] != history[:-1]
    return history[first], weights[first]


def _strongest_source(contributions: sp.csc_matrix, history: np.ndarray, items: np.ndarray) -> list[int]:
    sources = []
    for item in items:
        column = contributions[:, int(item)]
        if column.nnz == 0 or column.data.max() <= 0:
            sources.append(-1)
            continue
        sources.append(int(history[column.indices[np.argmax(column.data)]]))
    return sources
