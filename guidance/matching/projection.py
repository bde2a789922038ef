"""A projection fitted on past questions, without labels: centre, drop the top principal
direction(s), keep the next few as the vector.

Sentence embeddings share a large common direction (every question looks like "a question");
removing the mean and the first principal component(s) ("all-but-the-top", Mu & Viswanath 2018)
lets the directions that tell one question from another decide the cosine, and keeping the
next 128 components makes the stored vector small without losing accuracy.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DROP_COMPONENTS = 1
KEEP_COMPONENTS = 128
# Fewer distinct questions than this give unstable principal directions: no fit then.
MIN_FIT_QUESTIONS = 300


@dataclass(frozen=True)
class Projection:
    mean: np.ndarray  # (d_in,) float32
    components: np.ndarray  # (d_out, d_in) float32, orthonormal rows
    dropped: int
    fitted_on: int  # how many distinct questions

    @property
    def dimension(self) -> int:
        return int(self.components.shape[0])

    @property
    def fingerprint(self) -> str:
        """Changes with every fit: vectors made under another fingerprint must be re-encoded."""
        digest = hashlib.sha256(self.mean.tobytes() + self.components.tobytes()).hexdigest()[:12]
        return f"abtt{self.dropped}-{self.dimension}-{digest}"

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        projected = (vectors - self.mean) @ self.components.T
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return (projected / np.maximum(norms, 1e-12)).astype(np.float32)


def fit_projection(vectors: np.ndarray, drop: int = DROP_COMPONENTS, keep: int = KEEP_COMPONENTS) -> Projection:
    """Fit on the (distinct) questions' raw vectors."""
    if len(vectors) < MIN_FIT_QUESTIONS:
        raise ValueError(f"至少需要 {MIN_FIT_QUESTIONS} 个不同的问题才能拟合（现有 {len(vectors)} 个）")
    data = np.asarray(vectors, dtype=np.float64)
    mean = data.mean(axis=0)
    _, _, directions = np.linalg.svd(data - mean, full_matrices=False)
    components = directions[drop:drop + keep]
    return Projection(mean=mean.astype(np.float32), components=components.astype(np.float32),
                      dropped=drop, fitted_on=len(vectors))


def save_projection(projection: Projection, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, mean=projection.mean, components=projection.components,
             meta=np.asarray([projection.dropped, projection.fitted_on], dtype=np.int64))
    os.replace(partial, path)  # readers see the old file or the new one, never half of one


def load_projection(path: Path) -> Projection | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as saved:
        dropped, fitted_on = (int(value) for value in saved["meta"])
        return Projection(mean=saved["mean"], components=saved["components"], dropped=dropped, fitted_on=fitted_on)
