"""Python's cyclic garbage collector, told that a CPU-bound batch job is running.

A batch that builds millions of small objects (tuples, dicts, short lists) triggers a collection
every 700 allocations, and every collection of the older generations walks everything the
process holds: the job's large read-only inputs included. Scoring the learning push spent an
eighth of its time there. `fewer_collections` moves what exists when the job starts out of the
collector's sight (`gc.freeze`), collects the youngest generation less often while the job runs,
and gives both back afterwards, so nothing stays out of reach of the collector once the job ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLD = 20_000  # allocations between young-generation collections (Python's default: 700)


@contextmanager
def fewer_collections(threshold: int = BATCH_THRESHOLD) -> Iterator[None]:
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
