"""Reading a local text file named on the command line (an evaluation's pairs, a log of
interactions): UTF-8 with or without a BOM, and every way of failing to read it told in Chinese
as the caller's own error type, never a traceback."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

T = TypeVar("T")


def read_text_file(path: str | Path, parse: Callable[[TextIO], T], error: type[Exception]) -> T:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return parse(handle)
    except FileNotFoundError:
        raise error(f"文件不存在：{path}") from None
    except UnicodeDecodeError as problem:
        raise error(f"文件不是 UTF-8 文本：{problem.reason}（第 {problem.start} 字节附近）") from None
    except csv.Error as problem:  # e.g. a cell over the csv module's field limit
        raise error(f"文件格式错误（CSV）：{problem}") from None
    except OSError as problem:  # a directory, no permission …
        raise error(f"无法读取文件：{path}（{problem.strerror}）") from None
