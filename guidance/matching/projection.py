"""A projection fitted on past questions, without labels: centre, damp the top principal
directions, keep the leading components as the vector.

Sentence embeddings share a large common direction (every question looks like "a question");
removing the mean and weakening the first principal components (after "all-but-the-top", Mu &
Viswanath 2018, which drops them) lets the directions that tell one question from another decide
the cosine. The top two directions are halved rather than dropped, and 128 components are kept
after them (130 in all), which keeps the stored vector small. Both were chosen on the LCQMC and
BQ validation sets (docs/MATCHING.md), never on the test sets.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DAMPED_COMPONENTS = 2  # the top principal directions, weakened
DAMPING = 0.5  # their weight (0 would drop them)
KEEP_COMPONENTS = 128  # kept after the damped ones
# Fewer distinct questions than this give unstable principal directions: no fit then.
MIN_FIT_QUESTIONS = 300


@dataclass(frozen=True)
class Projection:
    mean: np.ndarray  # (d_in,) float32
    components: np.ndarray  # (d_out, d_in) float32, orthonormal rows
    dropped: int  # how many top directions are damped
    fitted_on: int  # how many distinct questions
    weights: np.ndarray | None = None  # (d_out,) float32 per component; None = all 1 (older files)

    @property
    def dimension(self) -> int:
        return int(self.components.shape[0])

    @property
    def fingerprint(self) -> str:
        """Changes with every fit: vectors made under another fingerprint must be re-encoded."""
        weights = b"" if self.weights is None else self.weights.tobytes()
        digest = hashlib.sha256(self.mean.tobytes() + self.components.tobytes() + weights).hexdigest()[:12]
        return f"abtt{self.dropped}-{self.dimension}-{digest}"

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        projected = (vectors - self.mean) @ self.components.T
        if self.weights is not None:
            projected = projected * self.weights
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return (projected / np.maximum(norms, 1e-12)).astype(np.float32)


def fit_projection(vectors: np.ndarray, damp: int = DAMPED_COMPONENTS, keep: int = KEEP_COMPONENTS,
                   damping: float = DAMPING) -> Projection:
    """Fit on the (distinct) questions' raw vectors."""
    if len(vectors) < MIN_FIT_QUESTIONS:
        raise ValueError(f"至少需要 {MIN_FIT_QUESTIONS} 个不同的问题才能拟合（现有 {len(vectors)} 个）")
    data = np.asarray(vectors, dtype=np.float64)
    mean = data.mean(axis=0)
    _, _, directions = np.linalg.svd(data - mean, full_matrices=False)
    components = directions[:damp + keep]
    weights = np.ones(len(components), dtype=np.float32)
    weights[:damp] = damping
    return Projection(mean=mean.astype(np.float32), components=components.astype(np.float32),
                      dropped=damp, fitted_on=len(vectors), weights=weights)


def save_projection(projection: Projection, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    weights = projection.weights if projection.weights is not None else np.ones(projection.dimension, np.float32)
    np.savez(partial, mean=projection.mean, components=projection.components, weights=weights,
             meta=np.asarray([projection.dropped, projection.fitted_on], dtype=np.int64))
    os.replace(partial, path)  # readers see the old file or the new one, never half of one


def load_projection(path: Path) -> Projection | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as saved:
        dropped, fitted_on = (int(value) for value in saved["meta"])
        weights = saved["weights"] if "weights" in saved.files else None
        return Projection(mean=saved["mean"], components=saved["components"], dropped=dropped, fitted_on=fitted_on,
                          weights=weights)
