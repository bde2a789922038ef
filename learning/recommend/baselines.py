"""The two yardsticks: training-period popularity and `implicit`'s plain ALS."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from learning.recommend.protocol import Ranker, TrainingLog
from learning.recommend.scoring import top_k_unseen

ALS_FACTORS = 64
ALS_ITERATIONS = 15
ALS_REGULARIZATION = 0.05


def popularity_ranker(train: TrainingLog, users: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(train.items, minlength=train.n_items).astype(np.float32)
    seen = train.seen[users]
    result = np.full((len(users), k), -1, dtype=np.int64)
    chunk = 4096
    for start in range(0, len(users), chunk):
        block = np.tile(counts, (min(chunk, len(users) - start), 1))
        result[start:start + chunk] = top_k_unseen(block, seen[start:start + chunk], k)
    return result


def als_ranker(seed: int) -> Ranker:
    def rank(train: TrainingLog, users: np.ndarray, k: int) -> np.ndarray:
        from implicit.cpu.als import AlternatingLeastSquares

        matrix = train.seen.astype(np.float32)
        # One BLAS thread (implicit's own advice) and one solver thread: the same figures every run.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=ALS_FACTORS, iterations=ALS_ITERATIONS,
                                            regularization=ALS_REGULARIZATION, random_state=seed,
                                            num_threads=1, calculate_training_loss=False)
            model.fit(matrix, show_progress=False)
            ids, scores = model.recommend(users, matrix[users], N=k, filter_already_liked_items=True)
        result = np.asarray(ids, dtype=np.int64).reshape(len(users), -1)
        # When fewer than k items are left, implicit pads with the filtered ones (score -FLT_MAX).
        scores = np.asarray(scores, dtype=np.float32).reshape(len(users), -1)
        result[~(scores > np.finfo(np.float32).min / 2)] = -1
        if result.shape[1] < k:
            result = np.hstack([result, np.full((len(users), k - result.shape[1]), -1)])
        return result

    return rank
