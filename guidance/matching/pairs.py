"""Labelled question pairs: read a file, score the pairs, measure how well the score separates
"same meaning" from "different".

A file is CSV with a header naming q1, q2 and label (other columns ignored), or, as LCQMC and
the BQ corpus ship, tab-separated q1<TAB>q2<TAB>label lines with or without that header.
Labels are 1 (same meaning) or 0. A byte-order mark and blank lines are tolerated; anything
else that is wrong stops the read with the line it is on.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score

from core.textfiles import read_text_file
from guidance.matching.matcher import Matcher, get_matcher
from guidance.matching.projection import MIN_FIT_QUESTIONS, fit_projection

COLUMNS = ("q1", "q2", "label")
MAX_QUESTION_CHARS = 1000
MAX_PAIRS = 100_000  # encoding runs at a few ms a question on 2 cores: keeps a run within minutes


class PairFileError(ValueError):
    """The pairs file cannot be used: says which line and why (in Chinese, for the command)."""


@dataclass(frozen=True)
class Pairs:
    q1: list[str]
    q2: list[str]
    labels: np.ndarray  # int8, 0 or 1


def read_pairs(path: str | Path) -> Pairs:
    return read_text_file(path, _read_rows, PairFileError)


def _read_rows(handle) -> Pairs:
    first = ""
    for line in handle:
        if line.strip():
            first = line
            break
    if not first:
        raise PairFileError("文件为空：需要 q1,q2,label 三列和至少一行问题对")
    delimiter = "\t" if "\t" in first else ","
    # Tab-separated corpora hold bare quote marks inside questions: no quoting there.
    quoting: Literal[0, 3] = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    header = [cell.strip().lower() for cell in next(csv.reader([first], delimiter=delimiter, quoting=quoting))]
    has_header = "q1" in header or "q2" in header or "label" in header
    if has_header:
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise PairFileError(f"表头缺少列 {', '.join(missing)}（表头为：{', '.join(header)}）")
        columns = [header.index(name) for name in COLUMNS]
        width = len(header)
        rows = csv.reader(handle, delimiter=delimiter, quoting=quoting)
        first_line = 2
    elif delimiter == "\t" and len(header) == 3:
        columns, width = [0, 1, 2], 3
        rows = csv.reader([first, *handle], delimiter="\t", quoting=csv.QUOTE_NONE)
        first_line = 1
    else:
        raise PairFileError("无法识别格式：需要带表头 q1,q2,label 的 CSV，或无表头的 q1<TAB>q2<TAB>label 文本")

    q1: list[str] = []
    q2: list[str] = []
    labels: list[int] = []
    for offset, row in enumerate(rows):
        line = first_line + offset
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise PairFileError(f"第 {line} 行有 {len(row)} 列，应有 {width} 列")
        first_question, second_question, label = (row[column].strip() for column in columns)
        if not first_question or not second_question:
            raise PairFileError(f"第 {line} 行缺少问题文本")
        if max(len(first_question), len(second_question)) > MAX_QUESTION_CHARS:
            raise PairFileError(f"第 {line} 行的问题超过 {MAX_QUESTION_CHARS} 字")
        if label not in ("0", "1"):
            raise PairFileError(f"第 {line} 行：label 须为 0 或 1，实为 {label[:20]!r}")
        if len(labels) >= MAX_PAIRS:
            raise PairFileError(f"问题对超过 {MAX_PAIRS} 行，请拆分文件")
        q1.append(first_question)
        q2.append(second_question)
        labels.append(int(label))
    if not labels:
        raise PairFileError("文件没有问题对：至少需要一行")
    label_array = np.asarray(labels, dtype=np.int8)
    if label_array.min() == label_array.max():
        raise PairFileError("label 须同时含 0 和 1，才能计算 ROC-AUC")
    return Pairs(q1, q2, label_array)


def pair_scores(q1: Sequence[str], q2: Sequence[str], matcher: Matcher | None = None) -> np.ndarray:
    """Cosine similarity of each pair (q1[i], q2[i]).

    With no matcher given: the process matcher's encoder, its vectors centred and projected by a
    fit on these very questions (no labels used) when there are enough of them, else the
    process matcher as it is.
    """
    return _scores(q1, q2, matcher)[0]


def _scores(q1: Sequence[str], q2: Sequence[str], matcher: Matcher | None) -> tuple[np.ndarray, str]:
    if len(q1) != len(q2):
        raise ValueError("q1 and q2 must have the same length")
    distinct = list(dict.fromkeys([*q1, *q2]))
    row_of = {question: row for row, question in enumerate(distinct)}
    base = matcher or get_matcher()
    if matcher is None and len(distinct) >= MIN_FIT_QUESTIONS:
        raw = base.encoder.encode(distinct)  # encoded once: fitted on and projected alike
        fitted = Matcher(base.encoder, fit_projection(raw))
        assert fitted.projection is not None
        vectors, method = fitted.projection.apply(raw), f"{fitted.method}, fitted on this file's questions"
    else:
        vectors, method = base.encode(distinct), base.method
    first = vectors[[row_of[question] for question in q1]]
    second = vectors[[row_of[question] for question in q2]]
    return np.einsum("ij,ij->i", first, second), method


def evaluate_pairs(path: str | Path) -> dict:
    started = time.perf_counter()
    pairs = read_pairs(path)
    read_done = time.perf_counter()
    scores, method = _scores(pairs.q1, pairs.q2, None)
    scored = time.perf_counter()
    precision, recall, thresholds = precision_recall_curve(pairs.labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))  # the last point (recall 0) has no threshold
    distinct = len(set(pairs.q1) | set(pairs.q2))
    return {
        "method": method,
        "pairs": len(pairs.labels),
        "positives": int(pairs.labels.sum()),
        "distinct_questions": distinct,
        "roc_auc": round(float(roc_auc_score(pairs.labels, scores)), 4),
        "best_f1": round(float(f1[best]), 4),
        "best_threshold": round(float(thresholds[best]), 4),
        "timings": {
            "read_s": round(read_done - started, 3),
            "encode_and_score_s": round(scored - read_done, 3),
            "encode_ms_per_question": round((scored - read_done) * 1000 / max(distinct, 1), 2),
            "total_s": round(time.perf_counter() - started, 3),
        },
    }
