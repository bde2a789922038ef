"""Exact top-k search by dot product over unit vectors, and the vectors' storage as bytes.

A question's vector is kept as little-endian float16 bytes (768 bytes at 384 dimensions, 256 at
128): half the size of float32, and the cosine changes by less than 1e-3. Search runs on a
float32 matrix (one per stage and subject group, cached by the caller): a matrix-vector product
and a partial sort, exact, with no index to build or keep in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

STORED_DTYPE = np.dtype("<f2")


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=STORED_DTYPE).ravel().tobytes()


def from_bytes(blob: bytes, dimension: int | None = None) -> np.ndarray:
    vector = np.frombuffer(blob, dtype=STORED_DTYPE).astype(np.float32)
    if dimension is not None and len(vector) != dimension:
        raise ValueError(f"stored vector has {len(vector)} dimensions, expected {dimension}")
    return vector


class VectorIndex:
    """Rows of unit vectors with their ids; search returns the k best by cosine, best first."""

    def __init__(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or len(matrix) != len(ids):
            raise ValueError("vectors must be an (n, d) matrix with one id per row")
        self.ids = np.asarray(ids, dtype=np.int64)
        self.matrix = matrix

    @classmethod
    def from_blobs(cls, rows: Iterable[tuple[int, bytes]], dimension: int) -> VectorIndex:
        """From (id, to_bytes(vector)) rows as the database keeps them; other dimensions are skipped
        (vectors of an older matcher waiting to be re-encoded)."""
        ids: list[int] = []
        blobs: list[bytes] = []
        width = dimension * STORED_DTYPE.itemsize
        for row_id, blob in rows:
            if blob is not None and len(blob) == width:
                ids.append(row_id)
                blobs.append(bytes(blob))
        matrix = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(ids), dimension)
        return cls(ids, matrix.astype(np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[1])

    def search(self, vector: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
        if k <= 0 or len(self.ids) == 0:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32).ravel()
        if k < len(scores):
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[row]), float(scores[row])) for row in top]
