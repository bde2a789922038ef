"""Keyed checkpoints of the append-only tables (audit log, hours ledger), kept outside the
database.

A hash chain proves that nothing inside it was changed, but not that its end is still
there: someone who can write to the database may delete the newest rows and wind the
chain's head back. A checkpoint states how far a table reached at a moment (its last id,
its count, a digest), keyed with HMAC under a key that is not in the database; an
operator keeps the files elsewhere (another host, write-once storage). `verify` with a
checkpoint then proves that everything it covered is still there, unchanged.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from people.identity import keyed_digest

PURPOSE = "integrity.checkpoint"


class CheckpointError(ValueError):
    """The file is not a checkpoint this deployment wrote (or it was altered); Chinese message."""


def _canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def checkpoint_document(kind: str, state: dict[str, Any], *, at: dt.datetime | None = None) -> dict[str, Any]:
    body = {"kind": kind, "taken_at": (at or timezone.now()).isoformat(), "state": state}
    return {**body, "mac": keyed_digest(PURPOSE, _canonical(body))}


def checkpoint_write(kind: str, state: dict[str, Any], directory: str | Path | None = None) -> Path:
    """Write a checkpoint file (never overwriting one) and return its path."""
    document = checkpoint_document(kind, state)
    folder = Path(directory or settings.INTEGRITY_CHECKPOINT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = document["taken_at"].replace(":", "").replace("-", "").replace("+", "_")
    path = folder / f"{kind}-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True))
    return path


def checkpoint_read(path: str | Path, *, kind: str) -> dict[str, Any]:
    """The state a checkpoint file states, once its key checks out; CheckpointError otherwise."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        body = {"kind": document["kind"], "taken_at": document["taken_at"], "state": document["state"]}
        mac = document["mac"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"无法读取检查点文件：{path}") from error
    if not isinstance(mac, str) or not hmac.compare_digest(mac, keyed_digest(PURPOSE, _canonical(body))):
        raise CheckpointError("检查点文件的签名不符（不是本系统签发，或已被改动）")
    if body["kind"] != kind:
        raise CheckpointError(f"检查点类型为 {body['kind']}，不是 {kind}")
    return dict(body["state"], taken_at=body["taken_at"])
