"""The offline protocol every ranking is judged on, so figures compare across tools.

The test period is every event after the 80th percentile of timestamps; rankers learn from the
rest. Test users and items that training never saw are dropped, and so are test events of items
the user already had in training (they are never recommended, so they could never be hit).
Relevance is binary. For each test user with test items T and top-k list L:
recall@k = |L ∩ T| / min(|T|, k); ndcg@k = DCG(L) / IDCG with the ideal over min(|T|, k) hits.
Both are means over test users; coverage = distinct items in all top-k lists / items in training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from learning.recommend.interactions import Interactions

TEST_QUANTILE = 0.8


@dataclass(frozen=True)
class TrainingLog:
    """The events a ranker may learn from, with users and items renumbered 0…n-1."""

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray
    n_users: int
    n_items: int

    def __len__(self) -> int:
        return len(self.users)

    @cached_property
    def seen(self) -> sp.csr_matrix:
        """Binary users × items matrix of what each user had."""
        matrix = sp.csr_matrix((np.ones(len(self.users), dtype=np.float32), (self.users, self.items)),
                               shape=(self.n_users, self.n_items))
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix


@dataclass(frozen=True)
class Split:
    train: TrainingLog
    test_users: np.ndarray  # training indices of the users evaluated
    test_items: list[np.ndarray]  # per test user, the distinct relevant items (training indices)
    cutoff: float
    n_test_events: int


# A ranker: given the training log and the users to serve, their top-k item indices (-1 pads).
Ranker = Callable[[TrainingLog, np.ndarray, int], np.ndarray]


def temporal_split(log: Interactions, quantile: float = TEST_QUANTILE) -> Split:
    cutoff = float(np.quantile(log.timestamps, quantile))
    in_test = log.timestamps > cutoff
    return split_at(log.users, log.items, log.timestamps, log.weights, in_test, cutoff)


def split_at(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, weights: np.ndarray,
             in_test: np.ndarray, cutoff: float) -> Split:
    train_mask = ~in_test
    train_user_ids, train_users = np.unique(users[train_mask], return_inverse=True)
    train_item_ids, train_items = np.unique(items[train_mask], return_inverse=True)
    train = TrainingLog(train_users.astype(np.int32), train_items.astype(np.int32), timestamps[train_mask],
                        weights[train_mask], len(train_user_ids), len(train_item_ids))

    # Test events of known users and known items, renumbered like training.
    test_users_raw, test_items_raw = users[in_test], items[in_test]
    user_position = np.searchsorted(train_user_ids, test_users_raw)
    item_position = np.searchsorted(train_item_ids, test_items_raw)
    known = ((user_position < len(train_user_ids)) & (item_position < len(train_item_ids)))
    known[known] &= ((train_user_ids[user_position[known]] == test_users_raw[known])
                     & (train_item_ids[item_position[known]] == test_items_raw[known]))
    test_pairs = np.unique(np.stack([user_position[known], item_position[known]], axis=1), axis=0) \
        if known.any() else np.zeros((0, 2), dtype=np.int64)
    if len(test_pairs):
        already_seen = np.asarray(train.seen[test_pairs[:, 0], test_pairs[:, 1]]).ravel() > 0
        test_pairs = test_pairs[~already_seen]
    test_users, starts = np.unique(test_pairs[:, 0], return_index=True)
    test_items = np.split(test_pairs[:, 1].astype(np.int32), starts[1:]) if len(test_pairs) else []
    return Split(train, test_users.astype(np.int32), test_items, cutoff, len(test_pairs))


def ranking_metrics(recommended: np.ndarray, relevant: list[np.ndarray], k: int, n_items: int) -> dict:
    """Mean ndcg@k and recall@k over users (rows), and catalogue coverage."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg_sum = recall_sum = 0.0
    for row, items in zip(recommended, relevant, strict=True):
        hits = np.isin(row[:k], items) & (row[:k] >= 0)
        ideal = min(len(items), k)
        ndcg_sum += float(discounts[hits].sum() / discounts[:ideal].sum())
        recall_sum += hits.sum() / ideal
    count = max(len(relevant), 1)
    shown = np.unique(recommended[:, :k]) if len(recommended) else np.array([], dtype=np.int64)
    shown = shown[shown >= 0]
    return {f"ndcg@{k}": round(ndcg_sum / count, 6), f"recall@{k}": round(recall_sum / count, 6),
            "coverage": round(len(shown) / max(n_items, 1), 6)}


def evaluate_ranker(ranker: Ranker, split: Split, k: int) -> dict:
    started = time.perf_counter()
    recommended = ranker(split.train, split.test_users, k)
    seconds = time.perf_counter() - started
    result = ranking_metrics(recommended, split.test_items, k, split.train.n_items)
    result["seconds"] = round(seconds, 3)
    return result
