"""Building the item → item links the ranking scores with.

Two views of which courses go together, blended and pruned to each course's strongest links:

- EASE (Steck 2019): the closed-form item regression B = −P / diag(P), P = (XᵀX + λI)⁻¹. Strong,
  but a dense n × n solve (20 k courses: 1.6 GB float32, minutes on 2 cores).
- RP3beta (Paudel et al. 2017): a two-step random walk course → learner → course, W_ij =
  (Σ_u x_ui x_uj / deg_u / deg_i)^α / deg_j^β, which favours links to less popular courses.

Both are scaled so their largest weight is 1 and mixed as (1 − share)·EASE + share·RP3beta.
X is binary, or holds 2^(−age / 2·half_life) of each pair's latest event when co-occurrences
should fade (item relations drift as courses come and go).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

GRAM_CHUNK_USERS = 100_000
PRUNE_CHUNK_ROWS = 1024
WALK_ALPHA = 0.8
WALK_BETA = 0.3


@dataclass
class ItemStatistics:
    gram: np.ndarray  # XᵀX, float32 dense
    walk: np.ndarray | None  # XᵀD⁻¹X (each learner's row divided by their degree), when asked


def binary_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    matrix = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def interaction_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int,
                       timestamps: np.ndarray | None = None, half_life: float | None = None) -> sp.csr_matrix:
    if half_life is None or timestamps is None:
        return binary_matrix(users, items, n_users, n_items)
    end = float(timestamps.max())
    matrix = latest_pair_matrix(users, items, timestamps, n_users, n_items)
    matrix.data = np.exp2(-(end - matrix.data) / (2 * half_life)).astype(np.float32)
    return matrix


def item_statistics(matrix: sp.csr_matrix, walk: bool = False,
                    statistics: ItemStatistics | None = None) -> ItemStatistics:
    """Accumulates XᵀX (and XᵀD⁻¹X) over chunks of learners, so no huge sparse product is held.

    Pass `statistics` to add a further chunk of learners to sums already begun.
    """
    n_items = matrix.shape[1]
    if statistics is None:
        statistics = ItemStatistics(np.zeros((n_items, n_items), dtype=np.float32),
                                    np.zeros((n_items, n_items), dtype=np.float32) if walk else None)
    degrees = np.asarray(matrix.sum(axis=1), dtype=np.float32).ravel()
    inverse = np.divide(1.0, degrees, out=np.zeros_like(degrees), where=degrees > 0)
    for start in range(0, matrix.shape[0], GRAM_CHUNK_USERS):
        block = matrix[start:start + GRAM_CHUNK_USERS]
        _add_into(statistics.gram, block.T @ block)
        if statistics.walk is not None:
            scaled = sp.diags(inverse[start:start + GRAM_CHUNK_USERS]) @ block
            _add_into(statistics.walk, block.T @ scaled)
    return statistics


def _add_into(dense: np.ndarray, product: sp.spmatrix) -> None:
    """dense += product, touching only its entries (no dense temporary of n × n)."""
    entries = sp.coo_matrix(product)
    entries.sum_duplicates()  # a product is canonical already; this makes the fancy += safe regardless
    dense[entries.row, entries.col] += entries.data.astype(dense.dtype, copy=False)


def ease_weights(gram: np.ndarray, l2: float, blas_threads: int | None = None,
                 overwrite: bool = False) -> np.ndarray:
    """EASE's B scaled to a largest weight of 1 (dense; `gram` is reused as the work space if allowed).

    `blas_threads` caps the solver's threads: on a busy machine OpenBLAS's inversion with more
    threads than free cores is several times slower than with one.
    """
    work = gram if overwrite else gram.copy()
    n_items = work.shape[0]
    work[np.diag_indices(n_items)] += l2
    with threadpool_limits(blas_threads):
        # LAPACK works column-major: given this row-major array it would copy it, and return the
        # inverse in a third (two more n × n: 3 GB at 20 k courses). The transposed view is
        # column-major, so it is inverted in place, and inv(Aᵀ)ᵀ = A⁻¹.
        precision = scipy.linalg.inv(work.T, overwrite_a=True, check_finite=False).T
    diagonal = np.diag(precision).copy()
    precision /= -diagonal[None, :]  # B_ij = -P_ij / P_jj
    precision[np.diag_indices(n_items)] = 0.0
    return _scaled(precision)


def walk_weights(walk: np.ndarray, item_degree: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """RP3beta's W scaled to a largest weight of 1."""
    work = walk if overwrite else walk.copy()
    degree = np.maximum(item_degree, 1e-9).astype(np.float32)
    work /= degree[:, None]
    np.power(work, WALK_ALPHA, out=work)
    work /= np.power(degree, WALK_BETA)[None, :]
    work[np.diag_indices(work.shape[0])] = 0.0
    return _scaled(work)


def _scaled(weights: np.ndarray) -> np.ndarray:
    peak = float(weights.max()) if weights.size else 0.0
    if peak > 0:
        weights /= peak
    return weights


def blended_links(ease: np.ndarray | None, walk: np.ndarray | None, share: float, keep: int) -> sp.csr_matrix:
    """(1 − share)·ease + share·walk, each row pruned to its `keep` largest positive weights."""
    source = ease if ease is not None else walk
    assert source is not None
    n_rows, n_cols = source.shape
    keep = min(keep, n_cols)
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for start in range(0, n_rows, PRUNE_CHUNK_ROWS):
        rows = slice(start, start + PRUNE_CHUNK_ROWS)
        if ease is None or share >= 1:
            block = walk[rows]  # type: ignore[index]
        elif walk is None or share <= 0:
            block = ease[rows]
        else:
            block = (1 - share) * ease[rows] + share * walk[rows]
        top = (np.argpartition(block, n_cols - keep, axis=1)[:, n_cols - keep:] if keep < n_cols
               else np.tile(np.arange(n_cols), (len(block), 1)))
        values = np.take_along_axis(block, top, axis=1)
        positive = values > 0
        for row in range(len(block)):
            chosen = np.sort(top[row][positive[row]])
            indices.append(chosen)
            data.append(block[row, chosen])
            indptr.append(indptr[-1] + len(chosen))
    return sp.csr_matrix((np.concatenate(data).astype(np.float32) if data else np.zeros(0, np.float32),
                          np.concatenate(indices) if indices else np.zeros(0, np.int64), np.asarray(indptr)),
                         shape=(n_rows, n_cols))


def trend_share(items: np.ndarray, timestamps: np.ndarray, n_items: int, window: float) -> np.ndarray:
    """Each item's enrolments in the last `window` seconds of the log, scaled so the top item is 1."""
    if window <= 0 or len(timestamps) == 0:
        return np.zeros(n_items, dtype=np.float32)
    recent = timestamps > timestamps.max() - window
    counts = np.bincount(items[recent], minlength=n_items).astype(np.float32)
    return counts / max(float(counts.max()), 1.0)


def latest_pair_matrix(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, n_users: int,
                       n_items: int) -> sp.csr_matrix:
    """Users × items holding the time of each pair's latest event (float64)."""
    users, items, timestamps = _latest_events(users, items, timestamps)
    return sp.csr_matrix((timestamps, (users, items)), shape=(n_users, n_items))


def weighted_histories(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, n_users: int, n_items: int,
                       half_life: float | None) -> sp.csr_matrix:
    """Users × items history weights w_j (latest event of each pair, aged from the user's latest event)."""
    users, items, timestamps = _latest_events(users, items, timestamps)
    if half_life is None:
        weights = np.ones(len(users), dtype=np.float32)
    else:
        latest = np.full(n_users, -np.inf)
        np.maximum.at(latest, users, timestamps)
        weights = np.exp2(-(latest[users] - timestamps) / half_life).astype(np.float32)
    return sp.csr_matrix((weights, (users, items)), shape=(n_users, n_items))


def _latest_events(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray):
    order = np.lexsort((timestamps, items, users))
    users, items, timestamps = users[order], items[order], timestamps[order]
    last_of_pair = np.ones(len(users), dtype=bool)
    last_of_pair[:-1] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
    return users[last_of_pair], items[last_of_pair], timestamps[last_of_pair]
