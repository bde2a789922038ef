"""What each part of the platform's ranking adds, on one log and the evaluation's protocol.

    .venv/bin/python bench/recommend_ablation.py FILE.csv

Prints one JSON object: ndcg@10 / recall@10 / coverage of plain EASE (λ chosen on the
validation part of training, binary co-occurrences, every history item weighing the same, no
trend prior), plain RP3beta, the chosen links alone (blend and fading, no recency or trend),
and the full ranking as `yanxiu recommend evaluate` reports it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from learning.recommend.interactions import read_interactions  # noqa: E402
from learning.recommend.protocol import evaluate_ranker, temporal_split  # noqa: E402
from learning.recommend.tuning import Tuning, platform_ranker, tune  # noqa: E402


def main() -> None:
    split = temporal_split(read_interactions(sys.argv[1]))
    chosen = tune(split.train)
    full = chosen.params
    variants = {
        "ease": replace(full, walk_share=0.0, fit_half_life=None, half_life=None, trend_weight=0.0),
        "rp3beta": replace(full, walk_share=1.0, fit_half_life=None, half_life=None, trend_weight=0.0),
        "links_only": replace(full, half_life=None, trend_weight=0.0),
        "platform": full,
    }
    report = {}
    for name, params in variants.items():
        tuning = Tuning(params, chosen.validation_ndcg)
        result = evaluate_ranker(lambda train, users, k, t=tuning: platform_ranker(train, users, k, t), split, 10)
        result.pop("seconds")
        report[name] = result
    report["params"] = {"l2": full.l2, "walk_share": full.walk_share, "fit_half_life_s": full.fit_half_life,
                        "half_life_s": full.half_life, "trend_weight": full.trend_weight,
                        "trend_window_s": full.trend_window}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
