"""Common-problem clustering of a city's month of questions (target: 20,000 in under 2 minutes
on 2 cores; NMI ≥ 0.7 against the planted themes).

Generates `--questions` synthetic questions (synth.questions) over every stage × subject team,
in proportion to the province's teachers of each (synth.generate.SUBJECTS within a stage,
synth.facts across stages), `--individual` of them one-off questions; clusters them with
guidance.clustering.cluster_questions and prints one JSON object: seconds (jieba's dictionary
loaded beforehand, as in a running worker), clusters found, share left out as noise, adjusted
Rand index and NMI against the themes (noise counted as one more label, and over the
clustered questions alone), and the share of one-off questions left out.

    .venv/bin/python bench/guidance_clustering.py [--questions 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from guidance.clustering import _tokenizer, cluster_questions  # noqa: E402
from synth.facts import province_stage_facts  # noqa: E402
from synth.generate import SUBJECTS  # noqa: E402
from synth.questions import INDIVIDUAL, SyntheticQuestion, generate_questions  # noqa: E402


def city_questions(rng: random.Random, total: int, individual: float) -> list[SyntheticQuestion]:
    teachers = {fact.stage: fact.teachers for fact in province_stage_facts()}
    teams = [(stage, code, teachers[stage] * weight / sum(w for _, w in table))
             for stage, table in SUBJECTS.items() for code, weight in table]
    shares = np.array([weight for _, _, weight in teams])
    counts = np.random.default_rng(rng.randrange(2**32)).multinomial(total, shares / shares.sum())
    questions = [q for (stage, code, _), count in zip(teams, counts, strict=True)
                 for q in generate_questions(rng, stage, code, int(count), individual_share=individual)]
    rng.shuffle(questions)
    return questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=20000)
    parser.add_argument("--individual", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    questions = city_questions(random.Random(args.seed), args.questions, args.individual)
    _tokenizer()
    started = time.perf_counter()
    clusters = cluster_questions([q.text for q in questions])
    seconds = time.perf_counter() - started
    predicted = np.full(len(questions), -1)
    for label, cluster in enumerate(clusters):
        predicted[cluster.members] = label
    planted = np.array([q.theme != INDIVIDUAL for q in questions])
    # A one-off question is a theme of its own: putting several in one cluster is an error.
    themes = np.array([q.theme if q.theme != INDIVIDUAL else f"{INDIVIDUAL}:{i}" for i, q in enumerate(questions)])
    clustered = predicted >= 0
    print(json.dumps({
        "bench": "guidance_clustering", "questions": len(questions), "cpus": os.cpu_count(),
        "seconds": round(seconds, 2), "themes": len(set(themes[planted])), "clusters": len(clusters),
        "noise_share": round(float(np.mean(~clustered)), 3),
        "ari": round(adjusted_rand_score(themes, predicted), 3),
        "nmi": round(normalized_mutual_info_score(themes, predicted), 3),
        "nmi_clustered": round(normalized_mutual_info_score(themes[clustered], predicted[clustered]), 3),
        "individual_left_out": round(float(np.mean(~clustered[~planted])), 3) if (~planted).any() else None,
        "largest": [{"size": c.size, "keywords": c.keywords} for c in clusters[:5]],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
