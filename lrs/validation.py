"""Statement validation (xAPI 1.0.3, Data part): every rule the specification gives a
statement, so that an invalid one is refused with 400 and a message naming what is wrong.

This first cut checks the statement's skeleton; the full rule set is being written into
this module (see the LRS issue) and every rule gets a test in lrs/tests/test_validation.py.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Properties the LRS sets or may change on a stored statement: a replay may differ in these.
LRS_SET = ("stored", "authority", "version")


class StatementInvalid(ValueError):
    """The statement (or parameter) breaks a rule of the specification; the message says which."""


def validate_uuid(value: Any) -> str:
    if not isinstance(value, str) or not UUID_PATTERN.match(value):
        raise StatementInvalid(f"不是有效的 UUID：{value!r}")
    return str(uuid.UUID(value))


def parse_timestamp(value: Any) -> dt.datetime:
    """An ISO 8601 date and time; without an offset it is taken as UTC."""
    if not isinstance(value, str) or "T" not in value:
        raise StatementInvalid(f"时间戳应为 ISO 8601 格式：{value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise StatementInvalid(f"时间戳应为 ISO 8601 格式：{value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def validate_agent(agent: Any, *, identified: bool = False) -> None:
    if not isinstance(agent, dict):
        raise StatementInvalid("Agent 应为对象")
    from lrs.keys import agent_key

    if identified and agent_key(agent) is None:
        raise StatementInvalid("Agent 须有且只有一个身份标识（mbox、mbox_sha1sum、openid 或 account）")


def validate_statement(statement: Any) -> None:
    if not isinstance(statement, dict):
        raise StatementInvalid("语句应为 JSON 对象")
    for name in ("actor", "verb", "object"):
        if not isinstance(statement.get(name), dict):
            raise StatementInvalid(f"缺少 {name}")
    if not isinstance(statement["verb"].get("id"), str):
        raise StatementInvalid("verb 缺少 id")
    if "id" in statement:
        validate_uuid(statement["id"])
    if "timestamp" in statement:
        parse_timestamp(statement["timestamp"])


def _comparable(statement: dict) -> dict:
    return {name: value for name, value in statement.items() if name not in LRS_SET}


def statements_equal(stored: dict, received: dict) -> bool:
    """Whether a received statement is the one already stored, ignoring what the LRS set."""
    stored = _comparable(stored)
    received = _comparable(received)
    if "timestamp" not in received:
        stored.pop("timestamp", None)
    stored["id"] = str(stored.get("id", "")).lower()
    received["id"] = str(received.get("id", "")).lower()
    return stored == received
