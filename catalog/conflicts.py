"""Overlapping projects across organisers (§二(五) 避免"政出多门").

Two projects of different organisers overlap when all three hold:
- their audiences meet (every restricted dimension shares a value; their regions nest);
- their dates overlap;
- their content is similar: a score from the TF-IDF cosine of the jieba-cut
  title and outline, the same category and shared topics.

The pairwise work is set-based: one sparse matrix product gives the text
similarity of every pair sharing a word, and only pairs above the threshold
are looked at one by one (dates, then audiences). A province-wide year of
~5,000 projects is checked in a few seconds (bench/bench_plan_conflicts.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings

from catalog.constants import ProjectCategory, Topic
from catalog.models import Project
from org.constants import STAGE_LABELS
from org.models import Division
from people.constants import HONOUR_TITLE_LABELS, SUBJECT_LABELS, TITLE_LABELS

# Score = TEXT·cosine + CATEGORY·[same category] + TOPICS·Jaccard(topics).
TEXT_WEIGHT, CATEGORY_WEIGHT, TOPIC_WEIGHT = 0.6, 0.25, 0.15
AUDIENCE_LABELS = {"stages": "学段", "subjects": "学科", "titles": "职称", "honours": "荣誉"}
# The Chinese names of each dimension's codes, for the reasons people read.
VALUE_LABELS = {"stages": STAGE_LABELS, "subjects": SUBJECT_LABELS, "titles": TITLE_LABELS,
                "honours": HONOUR_TITLE_LABELS}
_SHARED = re.compile(r"(学段|学科|职称|荣誉)：([^；）]+)")
_NOISE = re.compile(r"^[\d\s\W_年月日第期届]+$")


@dataclass(frozen=True)
class Overlap:
    project: Project
    other: Project
    score: float
    text_similarity: float
    reasons: list[str]


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=50_000)
def _tokens(text: str) -> tuple[str, ...]:
    """Words of a title or outline, without numbers, years and punctuation (cached: a
    worker checks the same year's projects again and again)."""
    return tuple(word for word in _jieba().lcut(text, HMM=False) if len(word.strip()) > 1 and not _NOISE.match(word))


def _document(project: Project) -> list[str]:
    title = _tokens(project.title)
    return [*title, *title, *_tokens(project.outline or "")]  # the title counts twice


def _text_vectors(projects: list[Project]):
    """Row-normalised TF-IDF vectors of the projects' texts (a sparse matrix)."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_document, sublinear_tf=True, max_df=0.5 if len(projects) > 20 else 1.0)
    try:
        return vectorizer.fit_transform(projects).tocsr()
    except ValueError:  # no words at all
        return csr_matrix((len(projects), 1))


def _region(project: Project, paths: dict[str, str]) -> list[tuple[str, int | None]]:
    """Where the audience works: the listed divisions, else the organiser's jurisdiction
    (for a school-level project, that school)."""
    codes = (project.audience or {}).get("divisions") or []
    if codes:
        return [(paths[code], None) for code in codes if code in paths]
    return [(project.division_path, project.organiser_school_id)]


def _regions_meet(a: list[tuple[str, int | None]], b: list[tuple[str, int | None]]) -> bool:
    for path_a, school_a in a:
        for path_b, school_b in b:
            nested = path_a.startswith(path_b) or path_b.startswith(path_a)
            if nested and (school_a is None or school_b is None or school_a == school_b):
                return True
    return False


def audiences_meet(a: Project, b: Project, paths: dict[str, str], names: dict[str, str] | None = None) -> list[str] | None:
    """What the two audiences share (as reasons, in words: 学段：小学), or None when no teacher
    could be in both. `names`: division code → name, for the shared regions."""
    rule_a, rule_b, shared = a.audience or {}, b.audience or {}, []
    for key, label in AUDIENCE_LABELS.items():
        values_a, values_b = set(rule_a.get(key) or []), set(rule_b.get(key) or [])
        if values_a and values_b:
            common = values_a & values_b
            if not common:
                return None
            shared.append(f"{label}：{'、'.join(VALUE_LABELS[key].get(v, v) for v in sorted(common))}")
    region_a, region_b = _region(a, paths), _region(b, paths)
    if not _regions_meet(region_a, region_b):
        return None
    codes_a, codes_b = (rule_a.get("divisions") or []), (rule_b.get("divisions") or [])
    if codes_a or codes_b:
        # Name the listed divisions that lie where the other project's teachers are.
        met = [code for code, other in ((c, region_b) for c in codes_a) if code in paths
               and _regions_meet([(paths[code], None)], other)]
        met += [code for code in codes_b if code in paths and code not in met
                and _regions_meet([(paths[code], None)], region_a)]
        if met:
            shared.append(f"地区：{'、'.join((names or {}).get(code, code) for code in met)}")
    return shared


def readable_reason(reason: str) -> str:
    """A stored reason with any audience codes in words (reasons stored by older checks named
    codes: 学段：primary)."""
    def words(match: re.Match) -> str:
        key = {label: key for key, label in AUDIENCE_LABELS.items()}[match.group(1)]
        return f"{match.group(1)}：{'、'.join(VALUE_LABELS[key].get(v, v) for v in match.group(2).split('、'))}"
    return _SHARED.sub(words, reason)


def _division_paths(projects: Iterable[Project]) -> dict[str, str]:
    codes = {code for p in projects for code in (p.audience or {}).get("divisions") or []}
    return dict(Division.objects.filter(code__in=codes).values_list("code", "path")) if codes else {}


def _topic_matrix(projects: list[Project]) -> np.ndarray:
    index = {topic: i for i, topic in enumerate(Topic.values)}
    matrix = np.zeros((len(projects), len(index)), dtype=np.float32)
    for row, project in enumerate(projects):
        for topic in set(project.topics or []):
            if topic in index:
                matrix[row, index[topic]] = 1
    return matrix


@dataclass
class _Features:
    text: object  # csr matrix
    topics: np.ndarray
    topic_counts: np.ndarray
    categories: np.ndarray
    owners: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, projects: list[Project]) -> _Features:
        topics = _topic_matrix(projects)
        category_codes = {c: i for i, c in enumerate(ProjectCategory.values)}
        owners: dict[tuple, int] = {}
        return cls(
            text=_text_vectors(projects), topics=topics, topic_counts=topics.sum(axis=1),
            categories=np.array([category_codes.get(p.category, -1) for p in projects]),
            owners=np.array([owners.setdefault((p.organiser_id, p.organiser_school_id), len(owners)) for p in projects]),
            starts=np.array([p.starts_on.toordinal() for p in projects]),
            ends=np.array([p.ends_on.toordinal() for p in projects]),
        )

    def block(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores, text similarities and the candidate mask (dates overlap, organisers differ)
        of every (row, col) pair, as dense arrays."""
        text = np.clip((self.text[rows] @ self.text[cols].T).toarray(), 0.0, 1.0)  # type: ignore[index]
        shared = self.topics[rows] @ self.topics[cols].T
        union = self.topic_counts[rows][:, None] + self.topic_counts[cols][None, :] - shared
        jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        same_category = self.categories[rows][:, None] == self.categories[cols][None, :]
        score = TEXT_WEIGHT * text + CATEGORY_WEIGHT * same_category + TOPIC_WEIGHT * jaccard
        mask = ((self.starts[rows][:, None] <= self.ends[cols][None, :])
                & (self.starts[cols][None, :] <= self.ends[rows][:, None])
                & (self.owners[rows][:, None] != self.owners[cols][None, :]))
        return score, text, mask


def _candidates(projects: list[Project], checked: set[int] | None, threshold: float,
                chunk: int = 400) -> list[tuple[int, int, float, float]]:
    """(i, j, score, text) of pairs above the threshold whose dates overlap and organisers differ.
    With `checked`: the checked projects' rows against everything. Else every pair once,
    sweeping the projects in start order so each block meets only those it could overlap."""
    features = _Features.of(projects)
    found: list[tuple[int, int, float, float]] = []

    def collect(rows: np.ndarray, cols: np.ndarray, keep_pair) -> None:
        score, text, mask = features.block(rows, cols)
        mask &= (score >= threshold) & keep_pair
        for a, b in zip(*np.nonzero(mask), strict=True):
            found.append((int(rows[a]), int(cols[b]), float(score[a, b]), float(text[a, b])))

    if checked is not None:
        ids = np.array([p.pk for p in projects])
        is_checked = np.isin(ids, list(checked))
        rows, cols = np.flatnonzero(is_checked), np.arange(len(projects))
        # A pair of two checked projects is looked at once (from the smaller index).
        collect(rows, cols, ~is_checked[cols][None, :] | (cols[None, :] > rows[:, None]))
        return found
    order = np.argsort(features.starts, kind="stable")
    sorted_starts = features.starts[order]
    for first in range(0, len(order), chunk):
        rows = order[first:first + chunk]
        last = int(np.searchsorted(sorted_starts, features.ends[rows].max(), side="right"))
        cols = order[first:max(last, first + len(rows))]
        positions_rows = np.arange(first, first + len(rows))
        positions_cols = np.arange(first, first + len(cols))
        collect(rows, cols, positions_cols[None, :] > positions_rows[:, None])
    return found


def find_overlaps(projects: list[Project], *, checked: set[int] | None = None,
                  threshold: float | None = None) -> list[Overlap]:
    """Overlapping pairs among `projects` (of different organisers), each pair once, best first.
    With `checked`, only pairs with at least one of those project ids, oriented so that
    `project` is the checked one."""
    threshold = settings.CATALOG_OVERLAP_THRESHOLD if threshold is None else threshold
    if len(projects) < 2:
        return []
    candidates = _candidates(projects, checked, threshold)
    paths = _division_paths(projects[a] for pair in candidates for a in pair[:2])
    names = dict(Division.objects.filter(code__in=list(paths)).values_list("code", "name")) if paths else {}
    overlaps = []
    for a, b, pair_score, pair_text in candidates:
        first, second = projects[a], projects[b]
        if checked is not None and first.pk not in checked:
            first, second = second, first
        shared = audiences_meet(first, second, paths, names)
        if shared is None:
            continue
        overlaps.append(Overlap(first, second, round(pair_score, 3), round(pair_text, 3),
                                _reasons(first, second, pair_text, shared)))
    overlaps.sort(key=lambda overlap: (-overlap.score, overlap.project.pk, overlap.other.pk))
    return overlaps


def _reasons(a: Project, b: Project, text: float, shared: list[str]) -> list[str]:
    reasons = [f"内容相似度 {text:.0%}"]
    if a.category == b.category:
        reasons.append(f"同为{ProjectCategory(a.category).label}")
    common_topics = sorted(set(a.topics or []) & set(b.topics or []))
    if common_topics:
        reasons.append("专题相同：" + "、".join(Topic(t).label for t in common_topics if t in Topic.values))
    first, last = max(a.starts_on, b.starts_on), min(a.ends_on, b.ends_on)
    reasons.append(f"日期重叠 {(last - first).days + 1} 天（{first:%m-%d} 至 {last:%m-%d}）")
    reasons.append("培训对象交叉" + (f"（{'；'.join(shared)}）" if shared else "（对象范围均未限定或互相包含）"))
    return reasons


def year_window(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)
