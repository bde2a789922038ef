"""Canonical keys for what statements and documents are looked up by.

An agent (or identified group) is the same agent whenever its inverse functional
identifier is the same: `agent_key` reduces one to a string ("mbox:mailto:a@b",
"mbox_sha1sum:…", "openid:…", "account:<homePage> <name>"). `value_hash` turns any such
key, an IRI or a UUID into the signed 64-bit integer the statement index stores.
"""

from __future__ import annotations

import hashlib
from typing import Any

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def agent_key(agent: dict[str, Any]) -> str | None:
    """The key of an agent or identified group; None for an anonymous group (no IFI)."""
    if not isinstance(agent, dict):
        return None
    if isinstance(agent.get("mbox"), str):
        return f"mbox:{agent['mbox']}"
    if isinstance(agent.get("mbox_sha1sum"), str):
        return f"mbox_sha1sum:{agent['mbox_sha1sum'].strip().lower()}"
    if isinstance(agent.get("openid"), str):
        return f"openid:{agent['openid']}"
    account = agent.get("account")
    if isinstance(account, dict) and isinstance(account.get("homePage"), str) and isinstance(account.get("name"), str):
        return f"account:{account['homePage']} {account['name']}"
    return None


def learner_key(agent: dict[str, Any]) -> str | None:
    """Whose statement it is, for matching a teacher: the agent's key with the mailbox compared
    without case (a provider may send mailto:Zhang@School.cn for the zhang@school.cn the
    teacher registered). The statement filters keep agent_key: xAPI compares IRIs exactly."""
    key = agent_key(agent)
    return key.lower() if key is not None and key.startswith("mbox:") else key


def value_hash(value: str) -> int:
    """A signed 64-bit digest (what a BigIntegerField holds) of a key, IRI or UUID."""
    return int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:8], "big", signed=True)
