"""Choosing the ranking's parameters on the training period alone.

The last fifth of the training period (by timestamps, exactly as the evaluation splits the
whole log) is held out for validation; parameters are chosen there, one at a time (EASE's λ,
the random walk's share, how fast co-occurrences fade, the history half-life, the trend
prior), and the model is
refitted on the whole training period. The test period is never looked at. An addition is
kept only when it gains at least 1 % on validation: the simpler model wins ties, since gains
smaller than that do not survive the move to the test period. Time-based parameters are fractions of the
training span, so logs in seconds, days or sequence numbers are treated alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from learning.recommend.fitting import (
    blended_links,
    ease_weights,
    interaction_matrix,
    item_statistics,
    trend_share,
    walk_weights,
    weighted_histories,
)
from learning.recommend.model import NeighbourModel, RankerParams
from learning.recommend.protocol import TrainingLog, ranking_metrics, split_at

L2_GRID = (25.0, 100.0, 400.0, 1600.0)
WALK_SHARES = (0.25, 0.5, 0.75, 1.0)
HALF_LIFE_FRACTIONS = (None, 0.01, 0.05, 0.2)
FIT_HALF_LIFE_FRACTIONS = (0.3, 1.0)
MARGIN = 1.01
TREND_WEIGHTS = (0.0, 0.1, 0.3, 1.0, 3.0)
TREND_WINDOW_FRACTIONS = (0.02, 0.1)
VALIDATION_K = 10


@dataclass
class Tuning:
    params: RankerParams
    validation_ndcg: float
    tried: list[dict] = field(default_factory=list)


def tune(train: TrainingLog, neighbours: int = 200) -> Tuning:
    span = float(train.timestamps.max() - train.timestamps.min()) or 1.0
    cutoff = float(np.quantile(train.timestamps, 0.8))
    split = split_at(train.users, train.items, train.timestamps, train.weights, train.timestamps > cutoff, cutoff)
    inner = split.train
    if len(split.test_users) == 0 or inner.n_items < 2:
        return Tuning(RankerParams(neighbours=neighbours), 0.0)
    statistics = item_statistics(interaction_matrix(inner.users, inner.items, inner.n_users, inner.n_items),
                                 walk=True)
    trend_none = trend_share(inner.items, inner.timestamps, inner.n_items, 0.0)
    tried: list[dict] = []

    histories: dict[float | None, sp.csr_matrix] = {}  # by half-life: the validation users' weighted histories

    def score(model: NeighbourModel) -> float:
        half_life = model.params.half_life
        if half_life not in histories:
            histories[half_life] = weighted_histories(inner.users, inner.items, inner.timestamps, inner.n_users,
                                                      inner.n_items, half_life)[split.test_users]
        weighted = histories[half_life]
        best, _ = model.recommend_batch(weighted, VALIDATION_K)
        ndcg = ranking_metrics(best, split.test_items, VALIDATION_K, inner.n_items)[f"ndcg@{VALIDATION_K}"]
        tried.append({"l2": model.params.l2, "walk_share": model.params.walk_share,
                      "half_life_fraction": _fraction(model.params.half_life, span),
                      "fit_half_life_fraction": _fraction(model.params.fit_half_life, span),
                      "trend_weight": model.params.trend_weight,
                      "trend_window_fraction": _fraction(model.params.trend_window, span), "ndcg@10": ndcg})
        return ndcg

    # EASE's λ: one solve each.
    best_ndcg, best_params, ease, best_links = -1.0, RankerParams(neighbours=neighbours), None, None
    for l2 in L2_GRID:
        candidate = RankerParams(l2=l2, neighbours=neighbours)
        weights = ease_weights(statistics.gram, l2)
        links = blended_links(weights, None, 0.0, neighbours)
        ndcg = score(NeighbourModel(links, trend_none, candidate))
        if ndcg > best_ndcg:
            best_ndcg, best_params, ease, best_links = ndcg, candidate, weights, links
    # The random walk's share: the same two dense matrices, mixed.
    walk = walk_weights(statistics.walk, np.diag(statistics.gram).copy())  # type: ignore[arg-type]
    for share in WALK_SHARES:
        candidate = replace(best_params, walk_share=share)
        links = blended_links(ease, walk, share, neighbours)
        ndcg = score(NeighbourModel(links, trend_none, candidate))
        if ndcg > best_ndcg * MARGIN:
            best_ndcg, best_params, best_links = ndcg, candidate, links
    del ease, walk
    # The best links were built above: no second dense solve for them.
    base = NeighbourModel(best_links, trend_none, best_params)
    # Fading co-occurrences: new sums each.
    for fraction in FIT_HALF_LIFE_FRACTIONS:
        candidate = replace(best_params, fit_half_life=fraction * span)
        model = NeighbourModel.fit(inner.users, inner.items, inner.timestamps, inner.n_users, inner.n_items,
                                   candidate)
        ndcg = score(model)
        if ndcg > best_ndcg * MARGIN:
            base, best_params, best_ndcg = model, candidate, ndcg
    # Recency, then the trend prior: serving parameters only, the links stay.
    chosen_links = best_params
    for fraction in HALF_LIFE_FRACTIONS[1:]:
        candidate = replace(chosen_links, half_life=fraction * span)
        ndcg = score(base.with_params(inner.items, inner.timestamps, candidate))
        if ndcg > best_ndcg * MARGIN:
            best_params, best_ndcg = candidate, ndcg
    chosen_recency = best_params
    for window in TREND_WINDOW_FRACTIONS:
        for weight in TREND_WEIGHTS[1:]:
            candidate = replace(chosen_recency, trend_weight=weight, trend_window=window * span)
            ndcg = score(base.with_params(inner.items, inner.timestamps, candidate))
            if ndcg > best_ndcg * MARGIN:
                best_params, best_ndcg = candidate, ndcg
    return Tuning(best_params, best_ndcg, tried)


def _fraction(seconds: float | None, span: float) -> float | None:
    return None if seconds is None else round(seconds / span, 4)


def platform_ranker(train: TrainingLog, users: np.ndarray, k: int, tuning: Tuning | None = None) -> np.ndarray:
    """The evaluated ranking: tuned on the training period, refitted on all of it, then served."""
    chosen = tuning or tune(train)
    model = NeighbourModel.fit(train.users, train.items, train.timestamps, train.n_users, train.n_items,
                               chosen.params)
    weighted = weighted_histories(train.users, train.items, train.timestamps, train.n_users, train.n_items,
                                  chosen.params.half_life)[users]
    best, _ = model.recommend_batch(weighted, k)
    return best
