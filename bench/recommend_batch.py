"""The recommender at province scale: fit, score every teacher in chunks, serve one on demand.

    .venv/bin/python bench/recommend_batch.py [--scale 1.0] [--items 20000] [--workers 2]

--scale 1.0 is L: 1.3 M teachers, ~100 M interactions (77 a teacher on average, long-tailed),
over --items courses. Interactions are generated chunk by chunk from the seed (teachers of a
stage × subject group prefer their group's courses; course appeal is log-normal) and never all
held at once, as the nightly task reads teachers from the database a chunk at a time. Prints one
JSON object: fit time (co-occurrence sums, EASE solve, random walk, pruning), batch time and rate, peak RSS of the whole
process tree (sampled from /proc, shared pages counted in each process, so an upper bound), and
the on-demand p50/p95 for single teachers. Each phase also reports the CPU seconds it used
(`*_cpu_s`, all workers together): on a shared machine wall time is mostly waiting for a core.
No Django needed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from learning.recommend.fitting import binary_matrix, item_statistics, weighted_histories  # noqa: E402
from learning.recommend.model import NeighbourModel, RankerParams, links_from_statistics  # noqa: E402

L_USERS = 1_300_000
L_EVENTS_PER_USER = 77.0
GROUPS = 60  # stage × subject
IN_GROUP_SHARE = 0.8
CHUNK_USERS = 50_000
DAY = 86400.0
PERIOD = 365 * DAY
ORIGIN = 1_756_684_800.0  # 2025-09-01
PARAMS = RankerParams(l2=400.0, walk_share=0.5, neighbours=200, half_life=60 * DAY, trend_weight=0.3,
                      trend_window=30 * DAY)

_MODEL: NeighbourModel | None = None  # shared with forked workers


class Population:
    """Deterministic synthetic teachers and courses; chunk i is the same on every call."""

    def __init__(self, n_users: int, n_items: int, seed: int):
        self.n_users, self.n_items, self.seed = n_users, n_items, seed
        random = np.random.default_rng(seed)
        appeal = random.lognormal(0.0, 1.3, n_items)
        self.item_group = random.integers(0, GROUPS, n_items)
        self.global_cdf = np.cumsum(appeal) / appeal.sum()
        self.group_items = [np.flatnonzero(self.item_group == g) for g in range(GROUPS)]
        self.group_cdf = [np.cumsum(appeal[items]) / appeal[items].sum() for items in self.group_items]

    def chunks(self) -> range:
        return range((self.n_users + CHUNK_USERS - 1) // CHUNK_USERS)

    def chunk(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(local user, item, time) for chunk `index`, and its first teacher's number."""
        first = index * CHUNK_USERS
        size = min(CHUNK_USERS, self.n_users - first)
        random = np.random.default_rng([self.seed, index])
        counts = np.maximum(1, random.poisson(L_EVENTS_PER_USER * random.lognormal(-0.125, 0.5, size)))
        users = np.repeat(np.arange(size), counts)
        groups = (first + users) % GROUPS
        draws = random.random(len(users))
        items = np.minimum(np.searchsorted(self.global_cdf, draws), self.n_items - 1)
        in_group = random.random(len(users)) < IN_GROUP_SHARE
        for group in range(GROUPS):
            chosen = in_group & (groups == group)
            if chosen.any() and len(self.group_items[group]):
                position = np.searchsorted(self.group_cdf[group], draws[chosen])
                items[chosen] = self.group_items[group][np.minimum(position, len(self.group_items[group]) - 1)]
        times = ORIGIN + random.random(len(users)) * PERIOD
        return users.astype(np.int32), items.astype(np.int32), times, first


class PeakMemory:
    """Samples the RSS of this process and its children every 0.2 s."""

    def __init__(self):
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            pids = [os.getpid()] + [child.pid for child in multiprocessing.active_children()]
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in pids))
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_kb / 1024 / 1024, 2)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def fit(population: Population, blas_threads: int | None, share: float) -> tuple[NeighbourModel, dict]:
    timings: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    statistics = None
    recent = np.zeros(population.n_items, dtype=np.float64)
    events = 0
    # The sums over a share of the teachers (every n-th chunk): item relations need far fewer
    # teachers than there are once each course has enough learners.
    stride = max(1, round(1 / share))
    for index in list(population.chunks())[::stride]:
        users, items, times, _ = population.chunk(index)
        events += len(users)
        block = binary_matrix(users, items, int(users.max()) + 1, population.n_items)
        statistics = item_statistics(block, walk=PARAMS.walk_share > 0, statistics=statistics)
        recent += np.bincount(items[times > ORIGIN + PERIOD - PARAMS.trend_window], minlength=population.n_items)
    timings["sums_s"] = time.perf_counter() - started
    timings["sums_cpu_s"] = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    assert statistics is not None
    links = links_from_statistics(statistics, PARAMS, blas_threads, overwrite=True)
    del statistics
    timings["solve_and_prune_s"] = time.perf_counter() - started
    timings["solve_and_prune_cpu_s"] = time.process_time() - cpu
    model = NeighbourModel(links, (recent / max(recent.max(), 1.0)).astype(np.float32), PARAMS)
    return model, {key: round(value, 1) for key, value in timings.items()} | {"events": events,
                                                                                 "links": int(links.nnz)}


def score_chunks(args: tuple[int, int, int, list[int]]) -> dict:
    n_users, n_items, seed, indices = args
    population = Population(n_users, n_items, seed)
    assert _MODEL is not None
    users_done, filled, explained = 0, 0, 0
    cpu = time.process_time()
    for index in indices:
        users, items, times, _ = population.chunk(index)
        weighted = weighted_histories(users, items, times, int(users.max()) + 1, n_items, PARAMS.half_life)
        best, because = _MODEL.recommend_batch(weighted, 10, explain=True)
        users_done += len(best)
        filled += int((best >= 0).sum())
        explained += int((because >= 0).sum()) if because is not None else 0
    return {"users": users_done, "filled": filled, "explained": explained, "cpu_s": time.process_time() - cpu}


def on_demand(model: NeighbourModel, population: Population, samples: int) -> dict:
    users, items, times, _ = population.chunk(0)
    starts = np.searchsorted(users, np.arange(users.max() + 2))
    random = np.random.default_rng(7)
    latencies = []
    for user in random.choice(int(users.max()) + 1, size=samples, replace=False):
        history, when = items[starts[user]:starts[user + 1]], times[starts[user]:starts[user + 1]]
        began = time.perf_counter()
        model.recommend(history, when, k=10)
        latencies.append((time.perf_counter() - began) * 1000)
    latencies.sort()
    return {"p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p95_ms": round(float(np.percentile(latencies, 95)), 2), "max_ms": round(latencies[-1], 2),
            "samples": samples}


def main() -> None:
    global _MODEL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = L (1.3 M teachers, ~100 M interactions)")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit-share", type=float, default=1.0, help="share of teachers whose histories feed the fit")
    parser.add_argument("--blas-threads", type=int, default=1, help="threads for the EASE solve (0 = OpenBLAS's own)")
    parser.add_argument("--samples", type=int, default=1000, help="single teachers timed on demand")
    options = parser.parse_args()
    memory = PeakMemory()
    population = Population(max(1, int(L_USERS * options.scale)), options.items, options.seed)
    started = time.perf_counter()
    model, fit_report = fit(population, options.blas_threads or None, options.fit_share)
    fit_seconds = time.perf_counter() - started
    _MODEL = model
    demand = on_demand(model, population, min(options.samples, min(CHUNK_USERS, population.n_users)))

    started = time.perf_counter()
    chunks = list(population.chunks())
    shares = [(population.n_users, population.n_items, options.seed, chunks[w::options.workers])
              for w in range(options.workers)]
    if options.workers > 1:
        # Fork after fitting: the workers share the model's pages; one BLAS thread each.
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        with multiprocessing.get_context("fork").Pool(options.workers) as pool:
            parts = pool.map(score_chunks, shares)
    else:
        parts = [score_chunks(shares[0])]
    batch_seconds = time.perf_counter() - started
    users = sum(part["users"] for part in parts)
    print(json.dumps({
        "scale": options.scale, "teachers": population.n_users, "courses": population.n_items,
        "fit_share": options.fit_share, "fit_interactions": fit_report["events"], "params": {"l2": PARAMS.l2, "walk_share": PARAMS.walk_share, "neighbours": PARAMS.neighbours,
                                                         "half_life_days": PARAMS.half_life / DAY if PARAMS.half_life else None,
                                                         "trend_weight": PARAMS.trend_weight},
        "fit_s": round(fit_seconds, 1), "fit": fit_report,
        "batch_s": round(batch_seconds, 1), "batch_teachers_per_s": round(users / batch_seconds),
        "batch_cpu_s": round(sum(part["cpu_s"] for part in parts), 1),
        "batch_filled_slots": sum(part["filled"] for part in parts),
        "batch_explained_slots": sum(part["explained"] for part in parts),
        "total_s": round(fit_seconds + batch_seconds, 1),
        "on_demand": demand, "peak_rss_gb": memory.stop(), "workers": options.workers,
        "blas_threads_for_solve": options.blas_threads or "default", "load_average": os.getloadavg(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "blas": [(info.get("internal_api"), info.get("num_threads")) for info in threadpool_info()]},
    }))


if __name__ == "__main__":
    main()
