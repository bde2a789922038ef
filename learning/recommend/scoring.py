"""Top-k selection over a block of users' scores, never returning an item the user already has."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

ROWS_ELEMENTS = 1_000_000  # scores per step of the selection (4 MB of float32, 8 MB of indices)


def top_k_unseen(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Row-wise indices of the k best scores, seen items excluded; -1 where fewer are left.

    `scores` (users × items, float) is overwritten. The same input gives the same order on
    every run.
    """
    n_rows, n_items = scores.shape
    rows = np.repeat(np.arange(n_rows), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    take = min(k, n_items)
    best = np.full((n_rows, k), -1, dtype=np.int64)
    # A few rows at a time: argpartition's index array then stays small enough for the
    # allocator to reuse, instead of fresh pages (and their faults) for a whole block.
    step = max(1, ROWS_ELEMENTS // max(n_items, 1))
    for start in range(0, n_rows, step):
        part = scores[start:start + step]
        if take < n_items:
            candidates = np.argpartition(part, n_items - take, axis=1)[:, n_items - take:]
        else:
            candidates = np.tile(np.arange(n_items), (len(part), 1))
        candidates.sort(axis=1)  # a fixed order before the stable sort: same input, same ties
        picked = np.take_along_axis(part, candidates, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        chosen = np.take_along_axis(candidates, order, axis=1)
        chosen[~np.isfinite(np.take_along_axis(picked, order, axis=1))] = -1
        best[start:start + len(part), :take] = chosen
    return best
