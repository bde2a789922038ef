"""The learned signal: courses like the ones a teacher studied, from every teacher's history.

The recommender of `learning.recommend` (the one `yanxiu recommend evaluate` measures): course →
course links blending EASE with a random walk, each course keeping its strongest links, with
its parameters chosen on the last fifth of the history (`tune`), a teacher's recent courses
weighing more and courses taking off lifted when validation says so. Scoring one teacher is a
handful of sparse rows; each score is a sum over the teacher's own courses, so the reason can
name the one that gave most ("与你学过的《…》相关").

The nightly batch fits it and saves it to `settings.LEARNING_PUSH_MODEL` (plain arrays, no
pickles); web processes load the saved file and reload it when it changes. Choosing the
parameters refits several times, so it is done only for histories of up to
`LEARNING_PUSH_TUNE_MAX_EVENTS`; a larger history is fitted once with the default parameters, and
on at most `LEARNING_PUSH_FIT_TEACHERS` teachers (a fixed sample by id): the links need the shape
of co-occurrence, not every teacher (every teacher is still scored).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from django.conf import settings
from scipy import sparse

from access.policy import visible
from access.scope import Scope
from learning.models import Course
from learning.push.interactions import Interactions
from learning.recommend.model import NeighbourModel, RankerParams
from learning.recommend.protocol import TrainingLog
from learning.recommend.tuning import tune

NEIGHBOURS = 200


@dataclass
class Model:
    course_ids: np.ndarray  # model index -> course id
    neighbours: sparse.csr_matrix  # courses × courses, row i: the courses like course i
    titles: dict[int, str]
    trend: np.ndarray | None = None  # per model course, 0…1: its share of the latest enrolments
    trend_weight: float = 0.0
    half_life: float | None = None  # seconds: a history course this much older than the latest weighs half
    l2: float = 200.0
    walk_share: float = 0.0

    @property
    def size(self) -> int:
        return int(self.course_ids.shape[0])


def fit_sample(teacher_ids: np.ndarray, size: int | None = None) -> np.ndarray:
    """At most `size` of the ids, sorted, the same ones night after night (the lowest by a hash of
    the id, so the sample is spread over every division rather than the oldest ids)."""
    size = settings.LEARNING_PUSH_FIT_TEACHERS if size is None else size
    ids = np.asarray(teacher_ids, dtype=np.int64)
    if len(ids) <= size:
        return np.sort(ids)
    return np.sort(ids[np.argsort((ids * 2654435761) % 4294967296, kind="stable")[:size]])


def fit(teachers: np.ndarray, courses: np.ndarray, times: np.ndarray, titles: dict[int, str], *,
        tune_max: int | None = None, fit_teachers: int | None = None, params: RankerParams | None = None) -> Model:
    tune_max = settings.LEARNING_PUSH_TUNE_MAX_EVENTS if tune_max is None else tune_max
    fit_teachers = settings.LEARNING_PUSH_FIT_TEACHERS if fit_teachers is None else fit_teachers
    distinct = np.unique(teachers)
    if len(distinct) > fit_teachers:
        mask = np.isin(teachers, fit_sample(distinct, fit_teachers))
        teachers, courses, times = teachers[mask], courses[mask], times[mask]
    course_ids, item = np.unique(courses, return_inverse=True)
    _, user = np.unique(teachers, return_inverse=True)
    n_users, n_items = int(user.max(initial=-1)) + 1, len(course_ids)
    if params is None:
        if len(item) <= tune_max:
            log = TrainingLog(users=user, items=item, timestamps=times, weights=np.ones(len(item), np.float32),
                              n_users=n_users, n_items=n_items)
            params = replace(tune(log, neighbours=NEIGHBOURS).params, neighbours=NEIGHBOURS)
        else:
            params = RankerParams(neighbours=NEIGHBOURS)
    fitted = NeighbourModel.fit(user, item, times, n_users, n_items, params)
    return Model(course_ids=course_ids, neighbours=fitted.links.tocsr().astype(np.float32), titles=titles,
                 trend=fitted.trend, trend_weight=params.trend_weight, half_life=params.half_life, l2=params.l2,
                 walk_share=params.walk_share)


def model_path() -> Path:
    return Path(settings.LEARNING_PUSH_MODEL)


def save(model: Model) -> None:
    path = model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    titles = np.asarray([model.titles.get(int(c), "") for c in model.course_ids], dtype=str)  # no pickled objects
    trend = model.trend if model.trend is not None else np.zeros(model.size, dtype=np.float32)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, course_ids=model.course_ids, indptr=model.neighbours.indptr, indices=model.neighbours.indices,
             data=model.neighbours.data, titles=titles, trend=trend,
             params=np.asarray([model.trend_weight, math.nan if model.half_life is None else model.half_life,
                                model.l2, model.walk_share], dtype=np.float64))
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
        trend_weight, half_life, l2, walk_share = saved["params"].tolist()
        trend = saved["trend"]
    return Model(course_ids=course_ids, neighbours=neighbours, titles=titles, trend=trend, trend_weight=trend_weight,
                 half_life=None if math.isnan(half_life) else half_life, l2=l2, walk_share=walk_share)


def fit_and_save(scope: Scope, found: Interactions) -> Model | None:
    if len(found) == 0:
        return None
    titles = dict(visible(scope, Course).values_list("id", "title"))
    model = fit(found.teachers, found.courses, found.times, titles)
    save(model)
    return model


def stamp() -> float | None:
    """When the saved model was written (None: no model yet)."""
    try:
        return model_path().stat().st_mtime
    except FileNotFoundError:
        return None


_loaded: dict[str, tuple[float, Model | None]] = {}
_lock = threading.Lock()


def current() -> Model | None:
    """The saved model, loaded once per process and again when the batch writes a new one."""
    path = model_path()
    try:
        written = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _loaded.get(str(path))
        if cached is None or cached[0] != written:
            _loaded[str(path)] = (written, load())
        return _loaded[str(path)][1]
