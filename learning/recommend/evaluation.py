"""`yanxiu recommend evaluate`: the platform's ranking and the two baselines on one protocol."""

from __future__ import annotations

import datetime as dt
import time

from learning.recommend.baselines import (
    ALS_FACTORS,
    ALS_ITERATIONS,
    ALS_REGULARIZATION,
    als_ranker,
    popularity_ranker,
)
from learning.recommend.interactions import Interactions
from learning.recommend.protocol import evaluate_ranker, temporal_split
from learning.recommend.tuning import platform_ranker, tune


def evaluate_log(log: Interactions, k: int = 10, seed: int = 0) -> dict:
    split = temporal_split(log)
    if len(split.test_users) == 0:
        raise ValueError("测试期没有可评估的用户：测试期的用户或课程都不在训练期中")
    started = time.perf_counter()
    tuning = tune(split.train)
    tune_seconds = time.perf_counter() - started
    platform = evaluate_ranker(lambda train, users, top: platform_ranker(train, users, top, tuning), split, k)
    popularity = evaluate_ranker(popularity_ranker, split, k)
    als = evaluate_ranker(als_ranker(seed), split, k)
    key = f"ndcg@{k}"
    params = tuning.params
    span = float(split.train.timestamps.max() - split.train.timestamps.min()) or 1.0
    return {
        key: platform[key],
        f"recall@{k}": platform[f"recall@{k}"],
        "coverage": platform["coverage"],
        "x_popularity": round(platform[key] / popularity[key], 3) if popularity[key] else None,
        "x_als": round(platform[key] / als[key], 3) if als[key] else None,
        "n_users": int(len(split.test_users)),
        "n_items": int(split.train.n_items),
        "n_train": int(len(split.train)),
        "n_test": int(split.n_test_events),
        "log": {"events": len(log), "users": len(log.user_ids), "items": len(log.item_ids),
                "test_after": _moment(split.cutoff)},
        "timings": {"tune_s": round(tune_seconds, 3), "fit_and_rank_s": platform["seconds"]},
        "model": {"method": "EASE + RP3beta item links (pruned), fading co-occurrences, history recency, trend prior",
                  "l2": params.l2, "walk_share": params.walk_share, "neighbours": params.neighbours,
                  "half_life_fraction": None if params.half_life is None else round(params.half_life / span, 4),
                  "fit_half_life_fraction": (None if params.fit_half_life is None
                                             else round(params.fit_half_life / span, 4)),
                  "trend_weight": params.trend_weight,
                  "trend_window_fraction": round(params.trend_window / span, 4),
                  "validation_ndcg@10": round(tuning.validation_ndcg, 6)},
        "popularity": _baseline(popularity, k),
        "als": _baseline(als, k) | {"factors": ALS_FACTORS, "iterations": ALS_ITERATIONS,
                                    "regularization": ALS_REGULARIZATION, "seed": seed},
        "k": k,
    }


def _baseline(result: dict, k: int) -> dict:
    return {f"ndcg@{k}": result[f"ndcg@{k}"], f"recall@{k}": result[f"recall@{k}"], "coverage": result["coverage"],
            "timings": {"fit_and_rank_s": result["seconds"]}}


def _moment(seconds: float) -> str:
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return str(seconds)
