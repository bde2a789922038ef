"""The process-wide matcher: the e5 encoder, plus the projection fitted on past questions when
one has been saved (GUIDANCE_MATCHER_MODEL); without one, the plain e5 vectors (still good).

Vectors made by one matcher compare only with vectors of the same `fingerprint`: after a refit,
stored question vectors must be re-encoded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from django.conf import settings

from guidance.matching.encoder import E5Encoder
from guidance.matching.projection import (
    Projection,
    fit_projection,
    load_projection,
    save_projection,
)

# Cosine at or above which a past question is shown as "similar": about the best-F1 threshold
# on the BQ validation set (questions of one trade, as a province's are; docs/MATCHING.md).
# Centred vectors score lower than raw e5 ones, whose cosines rarely fall below 0.7.
SHOW_THRESHOLD_RAW = 0.90
SHOW_THRESHOLD_FITTED = 0.30


class Matcher:
    def __init__(self, encoder: E5Encoder, projection: Projection | None = None) -> None:
        self.encoder = encoder
        self.projection = projection

    @property
    def dimension(self) -> int:
        return self.projection.dimension if self.projection else self.encoder.dimension

    @property
    def fingerprint(self) -> str:
        return f"{self.encoder.name}+{self.projection.fingerprint}" if self.projection else self.encoder.name

    @property
    def show_threshold(self) -> float:
        return SHOW_THRESHOLD_FITTED if self.projection else SHOW_THRESHOLD_RAW

    @property
    def method(self) -> str:
        if self.projection is None:
            return f"{self.encoder.name} cosine"
        weights = self.projection.weights
        weight = float(weights[0]) if weights is not None and self.projection.dropped else 0.0
        return (f"{self.encoder.name} cosine after centring, {self.projection.dropped} top principal "
                f"direction(s) weighted {weight:g}, keeping {self.projection.dimension} (fitted on "
                f"{self.projection.fitted_on} questions)")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dimension) float32 with unit rows: cosine similarity is a dot product."""
        vectors = self.encoder.encode(texts)
        return self.projection.apply(vectors) if self.projection else vectors

    def refitted(self, questions: Iterable[str]) -> Matcher:
        """A matcher whose projection is fitted on these questions (distinct ones, no labels)."""
        distinct = list(dict.fromkeys(question for question in questions if question.strip()))
        return Matcher(self.encoder, fit_projection(self.encoder.encode(distinct)))


def model_path() -> Path:
    return Path(settings.GUIDANCE_MATCHER_MODEL)


_encoder = E5Encoder()
_cached: dict[str, tuple[float | None, Matcher]] = {}
_lock = threading.Lock()


def get_matcher() -> Matcher:
    """Loaded once per process, and again when a refit writes a new model file."""
    path = model_path()
    try:
        written: float | None = path.stat().st_mtime
    except FileNotFoundError:
        written = None
    with _lock:
        cached = _cached.get(str(path))
        if cached is None or cached[0] != written:
            projection = load_projection(path) if written is not None else None
            cached = (written, Matcher(_encoder, projection))
            _cached[str(path)] = cached
        return cached[1]


def fit_matcher(questions: Iterable[str], path: Path | None = None) -> Matcher:
    """Fit the projection on past questions and save it where get_matcher() reads it."""
    matcher = Matcher(_encoder).refitted(questions)
    assert matcher.projection is not None
    save_projection(matcher.projection, path or model_path())
    return matcher
