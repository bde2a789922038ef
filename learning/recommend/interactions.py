"""Interaction logs: who learnt what, when (and how much).

A log is a CSV file with a header naming the columns `user`, `item`, `timestamp` and,
optionally, `weight` (other columns are ignored). Ids are opaque strings; timestamps are
ISO-8601 (a naive one is read as UTC) or epoch numbers. A byte-order mark and blank lines are
tolerated; anything else that is wrong stops the read with the line it is on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.textfiles import read_text_file

REQUIRED_COLUMNS = ("user", "item", "timestamp")


class InteractionFileError(ValueError):
    """The log cannot be read: says which line and why."""


@dataclass(frozen=True)
class Interactions:
    """Events as parallel arrays; users and items as indices into `user_ids` / `item_ids`."""

    users: np.ndarray  # int32 index per event
    items: np.ndarray  # int32 index per event
    timestamps: np.ndarray  # float64 seconds since the epoch
    weights: np.ndarray  # float32, 1 when the log has no weight column
    user_ids: np.ndarray  # the opaque ids, sorted
    item_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    @classmethod
    def from_events(cls, users: Iterable[str], items: Iterable[str], timestamps: Iterable[float],
                    weights: Iterable[float] | None = None) -> Interactions:
        user_array = np.asarray(list(users), dtype=object).astype(str)
        item_array = np.asarray(list(items), dtype=object).astype(str)
        time_array = np.asarray(list(timestamps), dtype=np.float64)
        weight_array = (np.ones(len(user_array), dtype=np.float32) if weights is None
                        else np.asarray(list(weights), dtype=np.float32))
        if not (len(user_array) == len(item_array) == len(time_array) == len(weight_array)):
            raise ValueError("users, items, timestamps and weights must have the same length")
        user_ids, user_index = np.unique(user_array, return_inverse=True)
        item_ids, item_index = np.unique(item_array, return_inverse=True)
        return cls(user_index.astype(np.int32), item_index.astype(np.int32), time_array, weight_array,
                   user_ids, item_ids)


def parse_timestamp(text: str) -> float:
    """Epoch seconds from an epoch number or an ISO-8601 date or date-time (naive = UTC)."""
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            raise ValueError(f"时间戳不是有限数值：{text!r}")
        return number
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"时间戳既不是 ISO-8601 日期时间也不是数字：{text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def read_interactions(path: str | Path) -> Interactions:
    return read_text_file(path, read_interactions_from, InteractionFileError)


def read_interactions_from(handle: io.TextIOBase | Iterable[str]) -> Interactions:
    reader = csv.reader(handle)
    header = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip().lstrip("\ufeff").lower() for cell in row]
            break
    if header is None:
        raise InteractionFileError("文件为空：需要表头 user,item,timestamp[,weight] 和至少一行记录")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InteractionFileError(f"表头缺少列 {', '.join(missing)}（表头为：{', '.join(header)}）")
    if len(set(header)) != len(header):
        raise InteractionFileError(f"表头有重复的列名：{', '.join(header)}")
    user_column, item_column, time_column = (header.index(name) for name in REQUIRED_COLUMNS)
    weight_column = header.index("weight") if "weight" in header else None

    users: list[str] = []
    items: list[str] = []
    timestamps: list[float] = []
    weights: list[float] = []
    parsed_times: dict[str, float] = {}  # logs repeat timestamps a lot (dates, whole seconds)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InteractionFileError(f"第 {line} 行有 {len(row)} 列，表头有 {len(header)} 列")
        user, item = row[user_column].strip(), row[item_column].strip()
        if not user or not item:
            raise InteractionFileError(f"第 {line} 行缺少 user 或 item")
        raw_time = row[time_column]
        moment = parsed_times.get(raw_time)
        if moment is None:
            try:
                moment = parse_timestamp(raw_time)
            except ValueError as error:
                raise InteractionFileError(f"第 {line} 行：{error}") from None
            parsed_times[raw_time] = moment
        if weight_column is not None:
            try:
                weight = float(row[weight_column])
            except ValueError:
                raise InteractionFileError(f"第 {line} 行：weight 不是数字：{row[weight_column]!r}") from None
            if not math.isfinite(weight) or weight <= 0:
                raise InteractionFileError(f"第 {line} 行：weight 须为正数：{row[weight_column]!r}")
            weights.append(weight)
        users.append(user)
        items.append(item)
        timestamps.append(moment)
    if not users:
        raise InteractionFileError("文件没有记录：表头之后至少需要一行")
    return Interactions.from_events(users, items, timestamps, weights if weight_column is not None else None)
