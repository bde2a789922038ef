"""The learned signal: courses like the ones a teacher studied, from every teacher's history.

An item-item model: for each course, its nearest courses by how often the same teachers study
both (cosine over the teacher × course matrix), pruned to `NEIGHBOURS` per course so scoring
one teacher is a handful of sparse rows. It also says which studied course contributed most to
each score, which is the reason a teacher reads ("与你学过的《…》相关").

The nightly batch fits it and saves it to `settings.LEARNING_PUSH_MODEL`; web processes load
the saved file (and reload when it changes) for on-demand lists.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from scipy import sparse

from access.policy import visible
from access.scope import Scope
from learning.models import Course
from learning.push.interactions import Interactions

NEIGHBOURS = 50


@dataclass
class Model:
    course_ids: np.ndarray  # model index -> course id
    neighbours: sparse.csr_matrix  # courses × courses, row i: the courses like course i
    titles: dict[int, str]

    @property
    def size(self) -> int:
        return int(self.course_ids.shape[0])


def fit(teachers: np.ndarray, courses: np.ndarray, titles: dict[int, str]) -> Model:
    course_ids, item = np.unique(courses, return_inverse=True)
    _, user = np.unique(teachers, return_inverse=True)
    n_users, n_items = int(user.max(initial=-1)) + 1, len(course_ids)
    matrix = sparse.csr_matrix((np.ones(len(item), dtype=np.float32), (user, item)), shape=(n_users, n_items))
    matrix.data[:] = 1.0  # a course twice is still once
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    together = (matrix.T @ matrix).tocsr().astype(np.float32)
    degree = np.sqrt(np.asarray(together.diagonal(), dtype=np.float32))
    together.setdiag(0)
    together.eliminate_zeros()
    coo = together.tocoo()
    coo.data = coo.data / (degree[coo.row] * degree[coo.col])
    return Model(course_ids=course_ids, neighbours=_prune(coo.tocsr(), NEIGHBOURS), titles=titles)


def _prune(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    indptr, indices, data = [0], [], []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        row_data, row_cols = matrix.data[start:end], matrix.indices[start:end]
        if len(row_data) > keep:
            top = np.argpartition(-row_data, keep)[:keep]
            row_data, row_cols = row_data[top], row_cols[top]
        indices.extend(row_cols.tolist())
        data.extend(row_data.tolist())
        indptr.append(len(indices))
    return sparse.csr_matrix((np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
                             shape=matrix.shape)


def model_path() -> Path:
    return Path(settings.LEARNING_PUSH_MODEL)


def save(model: Model) -> None:
    path = model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    titles = np.asarray([model.titles.get(int(c), "") for c in model.course_ids], dtype=str)  # no pickled objects in the file
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, course_ids=model.course_ids, indptr=model.neighbours.indptr, indices=model.neighbours.indices,
             data=model.neighbours.data, titles=titles)
    os.replace(partial, path)  # readers see the old file or the new one, never half of one


def load() -> Model | None:
    path = model_path()
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as saved:
        course_ids = saved["course_ids"]
        n = len(course_ids)
        neighbours = sparse.csr_matrix((saved["data"], saved["indices"], saved["indptr"]), shape=(n, n))
        titles = {int(c): str(t) for c, t in zip(course_ids, saved["titles"], strict=True)}
    return Model(course_ids=course_ids, neighbours=neighbours, titles=titles)


def fit_and_save(scope: Scope, found: Interactions) -> Model | None:
    if len(found) == 0:
        return None
    titles = dict(visible(scope, Course).values_list("id", "title"))
    model = fit(found.teachers, found.courses, titles)
    save(model)
    return model


_loaded: dict[str, tuple[float, Model | None]] = {}
_lock = threading.Lock()


def stamp() -> float | None:
    """When the saved model was written (None: no model yet)."""
    try:
        return model_path().stat().st_mtime
    except FileNotFoundError:
        return None


def current() -> Model | None:
    """The saved model, loaded once per process and again when the batch writes a new one."""
    path = model_path()
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _loaded.get(str(path))
        if cached is None or cached[0] != stamp:
            _loaded[str(path)] = (stamp, load())
        return _loaded[str(path)][1]
