"""Top-k selection over a block of users' scores, never returning an item the user already has."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def top_k_unseen(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Row-wise indices of the k best scores, seen items excluded; -1 where fewer are left.

    `scores` (users × items, float) is overwritten. Ties go to the lower item index, so the
    result is the same on every run.
    """
    n_rows, n_items = scores.shape
    rows = np.repeat(np.arange(n_rows), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    take = min(k, n_items)
    if take < n_items:
        # The `take` largest per row (no negated copy of a large block), in a fixed order.
        candidates = np.argpartition(scores, n_items - take, axis=1)[:, n_items - take:]
        candidates.sort(axis=1)
    else:
        candidates = np.tile(np.arange(n_items), (n_rows, 1))
    picked = np.take_along_axis(scores, candidates, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    best = np.take_along_axis(candidates, order, axis=1).astype(np.int64)
    best[~np.isfinite(np.take_along_axis(picked, order, axis=1))] = -1
    if take < k:
        best = np.hstack([best, np.full((n_rows, k - take), -1, dtype=np.int64)])
    return best
