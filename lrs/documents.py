"""The document resources (State, Activity Profile, Agent Profile) and the Activities and
Agents resources: parameters, selectors and services.

- A document is found by its key: resource, activity, agent, registration (state only) and
  its id. `key_hash` digests that key and is unique: the constraint, not a lock, is what
  stops two concurrent requests creating the same document twice (the loser retries once
  and then gets the answer it would have got had it come second).
- `scope_hash` digests (resource, activity, agent) without the registration: a list or a
  delete-all without `registration` covers every registration of the activity and agent
  (as the reference LRS does); with one, only that registration's documents.
- A client reads and writes documents only for activities under its registered IRI prefixes
  (access.policy LRS_DOCUMENT). An agent profile belongs to no activity, so only a client
  registered for any activity ("*") may use that resource: a prefix-limited client would
  otherwise read what other course providers keep about the same learner.
- Content is kept as bytes with its Content-Type as sent; the ETag is the SHA-1 of the
  content. A POST of a JSON object to a JSON document merges the top-level properties.
- Concurrency (If-Match / If-None-Match) is checked whenever a header is sent; a profile
  PUT without either is refused (409 if the document exists, 400 otherwise). State
  documents, and POST and DELETE anywhere, may be written without them, as the
  specification allows and the conformance suite expects — except that in an xAPI 2.0
  request a State PUT without either over an existing document is 409 as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from lrs.http import XapiError
from lrs.indexing import pending_drain
from lrs.keys import IFI_PROPERTIES, agent_key, value_hash
from lrs.models import DocumentKind, LrsActivity, LrsClient, LrsDocument
from lrs.validation import StatementInvalid, parse_timestamp

# Bytes one document may hold (after a merge too); requests above Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE are refused before they reach this check.
DEFAULT_MAX_BYTES = 1024 * 1024
JSON_TYPE = "application/json"
UNKNOWN_TYPE = "application/octet-stream"
IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+")
MAILTO = re.compile(r"mailto:[^@\s]+@[^@\s]+")
SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
AGENT_PROPERTIES = {"objectType", "name", *IFI_PROPERTIES}

ID_PARAM: dict[str, str] = {DocumentKind.STATE: "stateId", DocumentKind.ACTIVITY_PROFILE: "profileId",
            DocumentKind.AGENT_PROFILE: "profileId"}
CONTEXT_PARAMS: dict[str, tuple[str, ...]] = {
    DocumentKind.STATE: ("activityId", "agent", "registration"),
    DocumentKind.ACTIVITY_PROFILE: ("activityId",),
    DocumentKind.AGENT_PROFILE: ("agent",),
}


# --- what a request names -----------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """Where documents live: the resource, its activity, its agent, the registration."""

    kind: str
    activity_id: str = ""
    agent_key: str = ""
    registration: str = ""

    @property
    def scope_hash(self) -> str:
        return _digest([self.kind, self.activity_id, self.agent_key])

    def key_hash(self, document_id: str) -> str:
        return _digest([self.kind, self.activity_id, self.agent_key, self.registration, document_id])


@dataclass(frozen=True)
class DocumentRequest:
    context: Context
    document_id: str | None  # None: the request is about all documents of the context
    since: dt.datetime | None = None


@dataclass(frozen=True)
class Preconditions:
    """If-Match / If-None-Match as sent: None when absent, else the entity tags ("*": any).
    `state_guarded` (xAPI 2.0 requests): a PUT without either over an existing State document
    is 409 too, as for profiles; 1.0.3 lets it overwrite."""

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None
    state_guarded: bool = False

    @classmethod
    def from_headers(cls, if_match: str | None, if_none_match: str | None, *,
                     state_guarded: bool = False) -> Preconditions:
        return cls(_etags(if_match), _etags(if_none_match), state_guarded)

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


@dataclass(frozen=True)
class Document:
    content: bytes
    content_type: str
    etag: str
    updated: dt.datetime


@dataclass(frozen=True)
class DocumentIds:
    ids: list[str]
    last_modified: dt.datetime | None


def _digest(parts: list[str]) -> str:
    # JSON keeps the parts apart whatever characters they hold.
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - the ETag the specification asks for, not a secret


def _etags(header: str | None) -> frozenset[str] | None:
    if header is None:
        return None
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"').lower()
        if tag:
            tags.add(tag)
    return frozenset(tags) or None  # an empty header names nothing: as if not sent


# --- parameters -----------------------------------------------------------------------------


def document_request(kind: str, method: str, params: Mapping[str, str]) -> DocumentRequest:
    """The context, document id and `since` of a request to a document resource, or 400."""
    id_param = ID_PARAM[kind]
    allowed = {*CONTEXT_PARAMS[kind], id_param} | ({"since"} if method == "GET" else set())
    refuse_unknown(params, allowed)
    context = Context(
        kind=kind,
        activity_id=activity_param(params) if "activityId" in CONTEXT_PARAMS[kind] else "",
        agent_key=_agent_key_param(params) if "agent" in CONTEXT_PARAMS[kind] else "",
        registration=_registration_param(params.get("registration")),
    )
    document_id = params.get(id_param)
    if document_id == "":
        raise XapiError(400, f"{id_param} 参数不能为空")
    one_only = method in ("PUT", "POST") or (method == "DELETE" and kind != DocumentKind.STATE)
    if document_id is None and one_only:
        raise XapiError(400, f"缺少 {id_param} 参数")
    return DocumentRequest(context, document_id, _since_param(params.get("since")))


def refuse_unknown(params: Mapping[str, str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise XapiError(400, f"不支持的参数：{'、'.join(unknown)}")


def activity_param(params: Mapping[str, str]) -> str:
    value = params.get("activityId")
    if value is None:
        raise XapiError(400, "缺少 activityId 参数")
    if not IRI.fullmatch(value):
        raise XapiError(400, f"activityId 参数应为 IRI：{value[:200]}")
    return value


def agent_param(params: Mapping[str, str]) -> dict[str, Any]:
    """The `agent` parameter: a JSON Agent with exactly one identifier (not a Group), or 400."""
    raw = params.get("agent")
    if raw is None:
        raise XapiError(400, "缺少 agent 参数")
    try:
        agent = json.loads(raw)
    except (ValueError, RecursionError):  # nesting too deep is bad input too, not a 500
        raise XapiError(400, "agent 参数不是有效的 JSON") from None
    problem = _agent_problem(agent)
    if problem:
        raise XapiError(400, f"agent 参数无效：{problem}")
    return agent


def _agent_key_param(params: Mapping[str, str]) -> str:
    key = agent_key(agent_param(params))
    assert key is not None  # agent_param accepts only agents with one identifier
    return key


def _agent_problem(agent: Any) -> str | None:
    if not isinstance(agent, dict):
        return "应为 JSON 对象（Agent）"
    unknown = sorted(set(agent) - AGENT_PROPERTIES)
    if unknown:
        return f"不支持的属性 {'、'.join(unknown)}"
    if agent.get("objectType", "Agent") != "Agent":
        return "objectType 须为 Agent（不能是 Group 或 Person）"
    if "name" in agent and not isinstance(agent["name"], str):
        return "name 应为字符串"
    if any("\x00" in text for text in _strings(agent)):
        return "含有 NUL 字符"
    identifiers = [name for name in IFI_PROPERTIES if name in agent]
    if len(identifiers) != 1:
        return "须有且只有一个身份标识（mbox、mbox_sha1sum、openid 或 account）"
    return _identifier_problem(identifiers[0], agent[identifiers[0]])


def _identifier_problem(name: str, value: Any) -> str | None:
    if name == "mbox":
        return None if isinstance(value, str) and MAILTO.fullmatch(value) else "mbox 应为 mailto:邮箱地址"
    if name == "mbox_sha1sum":
        return None if isinstance(value, str) and SHA1_HEX.fullmatch(value) else "mbox_sha1sum 应为 40 位十六进制 SHA-1"
    if name == "openid":
        return None if isinstance(value, str) and IRI.fullmatch(value) else "openid 应为 URI"
    if not isinstance(value, dict) or set(value) != {"homePage", "name"}:
        return "account 须且只须有 homePage 与 name"
    if not isinstance(value["homePage"], str) or not IRI.fullmatch(value["homePage"]):
        return "account.homePage 应为 IRL"
    if not isinstance(value["name"], str) or not value["name"]:
        return "account.name 应为非空字符串"
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def _registration_param(value: str | None) -> str:
    if value is None:
        return ""
    if not UUID.fullmatch(value):
        raise XapiError(400, f"registration 参数应为 UUID：{value[:100]}")
    return value.lower()


def _since_param(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except StatementInvalid:
        raise XapiError(400, f"since 参数应为 ISO 8601 时间戳：{value[:100]}") from None


# --- access ---------------------------------------------------------------------------------


def _require_covered(scope: Scope, context: Context, action: str) -> None:
    """Decided on the request's activity alone, so a refusal says nothing about what is stored."""
    probe = LrsDocument(kind=context.kind, activity_id=context.activity_id)
    if can(scope, action, probe):
        return
    if context.kind == DocumentKind.AGENT_PROFILE:
        raise XapiError(403, "Agent Profile 文档不属于任何活动，只有登记为不限活动（*）的接入方可以访问")
    raise XapiError(403, "该接入方不能访问此活动的文档（活动不在其登记的 IRI 前缀之内）")


def _in_context(scope: Scope, context: Context, action: str) -> QuerySet[LrsDocument]:
    rows = visible(scope, LrsDocument, action).filter(scope_hash=context.scope_hash)
    if context.registration:
        rows = rows.filter(registration=context.registration)
    return rows


def _current(scope: Scope, context: Context, document_id: str, *, action: str, lock: bool = False,
             with_content: bool = True) -> LrsDocument | None:
    rows = visible(scope, LrsDocument, action).filter(key_hash=context.key_hash(document_id))
    if lock:
        rows = rows.select_for_update()
    if not with_content:
        rows = rows.defer("content")  # a PUT or DELETE never needs the old bytes
    return rows.first()


# --- selectors ------------------------------------------------------------------------------


def document_get(scope: Scope, context: Context, document_id: str) -> Document:
    _require_covered(scope, context, Action.VIEW)
    row = _current(scope, context, document_id, action=Action.VIEW)
    if row is None:
        raise XapiError(404, f"文档不存在：{document_id[:200]}")
    return Document(bytes(row.content), row.content_type, row.etag, row.updated)


def document_list(scope: Scope, context: Context, since: dt.datetime | None = None) -> DocumentIds:
    """The ids of the context's documents (changed after `since`, exclusive), oldest first."""
    _require_covered(scope, context, Action.VIEW)
    rows = _in_context(scope, context, Action.VIEW)
    if since is not None:
        rows = rows.filter(updated__gt=since)
    found = list(rows.order_by("updated", "pk").values_list("document_id", "updated"))
    ids = list(dict.fromkeys(document_id for document_id, _ in found))  # one id per registration
    return DocumentIds(ids, max((updated for _, updated in found), default=None))


def activity_get(activity_id: str) -> dict[str, Any]:
    """The Activity object: the LRS's canonical definition, or just the id if it has none.
    Definitions are public to every client (lrs.LrsActivity is reference data)."""
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    pending_drain(wait=True)  # definitions of statements just stored
    row = LrsActivity.objects.filter(activity_hash=value_hash(activity_id)).first()
    if row is not None and row.activity_id == activity_id and row.definition:
        activity["definition"] = row.definition
    return activity


def person_get(agent: dict[str, Any]) -> dict[str, Any]:
    """The Person object of an agent. The LRS joins no identities: it answers with what the
    request named, as the specification allows (other identities would need more rights)."""
    person: dict[str, Any] = {"objectType": "Person"}
    if agent.get("name"):
        person["name"] = [agent["name"]]
    for name in IFI_PROPERTIES:
        if name in agent:
            person[name] = [agent[name]]
    return person


# --- services -------------------------------------------------------------------------------


def document_put(scope: Scope, *, client: LrsClient, context: Context, document_id: str, content: bytes,
                 content_type: str, preconditions: Preconditions) -> None:
    """Store the document as sent, replacing any there (subject to the preconditions)."""
    _require_covered(scope, context, Action.CHANGE)
    content_type = _checked_type(content_type)
    _check_size(content)
    if _is_json(content_type):
        _parsed(content, require_object=False)

    def change(row: LrsDocument | None) -> tuple[bytes, str]:
        _check_preconditions(context.kind, "PUT", row, preconditions)
        return content, content_type

    _store(scope, client, context, document_id, change, with_content=False)


def document_post(scope: Scope, *, client: LrsClient, context: Context, document_id: str, content: bytes,
                  content_type: str, preconditions: Preconditions) -> None:
    """Store a new document, or merge a JSON object into an existing JSON document."""
    _require_covered(scope, context, Action.CHANGE)
    content_type = _checked_type(content_type)
    _check_size(content)
    posted = _parsed(content, require_object=True) if _is_json(content_type) else None

    def change(row: LrsDocument | None) -> tuple[bytes, str]:
        _check_preconditions(context.kind, "POST", row, preconditions)
        if row is None:
            return content, content_type
        return _merged(row, posted), content_type

    _store(scope, client, context, document_id, change, with_content=True)


def document_delete(scope: Scope, *, context: Context, document_id: str | None,
                    preconditions: Preconditions) -> None:
    """Delete one document, or (no id: the State resource only) every document of the context."""
    _require_covered(scope, context, Action.CHANGE)
    with transaction.atomic():
        if document_id is None:
            _in_context(scope, context, Action.CHANGE).delete()
            return
        row = _current(scope, context, document_id, action=Action.CHANGE, lock=True, with_content=False)
        _check_preconditions(context.kind, "DELETE", row, preconditions)
        if row is not None:
            row.delete()


class _Collision(Exception):
    """Another request created the document between our look and our insert."""


def _store(scope: Scope, client: LrsClient, context: Context, document_id: str,
           change: Callable[[LrsDocument | None], tuple[bytes, str]], *, with_content: bool) -> None:
    """Apply `change` to the current document under a row lock. A concurrent creation shows as
    a key_hash collision: the whole step runs once more, now seeing the other's document."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                row = _current(scope, context, document_id, action=Action.CHANGE, lock=True,
                               with_content=with_content)
                content, content_type = change(row)
                _check_size(content)
                _save(row, client, context, document_id, content, content_type)
            return
        except _Collision:
            continue
    raise XapiError(409, "文档正被并发写入，请获取其当前状态后重试")


def _save(row: LrsDocument | None, client: LrsClient, context: Context, document_id: str, content: bytes,
          content_type: str) -> None:
    now = timezone.now()
    if row is not None:
        row.content, row.content_type, row.etag, row.updated, row.client = (
            content, content_type, etag_of(content), now, client)
        row.save(update_fields=["content", "content_type", "etag", "updated", "client"])
        return
    try:
        LrsDocument.objects.create(
            kind=context.kind, activity_id=context.activity_id, agent_key=context.agent_key,
            registration=context.registration, document_id=document_id, key_hash=context.key_hash(document_id),
            scope_hash=context.scope_hash, content=content, content_type=content_type, etag=etag_of(content),
            updated=now, client=client)
    except IntegrityError:
        raise _Collision from None


def _check_preconditions(kind: str, method: str, row: LrsDocument | None, preconditions: Preconditions) -> None:
    etag = row.etag if row is not None else None
    if preconditions.if_match is not None and (
            etag is None or ("*" not in preconditions.if_match and etag not in preconditions.if_match)):
        raise XapiError(412, "If-Match 不满足：文档不存在或已被修改")
    if preconditions.if_none_match is not None and etag is not None and (
            "*" in preconditions.if_none_match or etag in preconditions.if_none_match):
        raise XapiError(412, "If-None-Match 不满足：文档已存在")
    if method == "PUT" and kind == DocumentKind.STATE and preconditions.state_guarded and not preconditions.given \
            and row is not None:
        raise XapiError(409, "状态文档已存在：请先获取其当前状态，再以 If-Match 请求头带上当前 ETag 重新提交")
    if method == "PUT" and kind != DocumentKind.STATE and not preconditions.given:
        if row is not None:
            raise XapiError(409, "文档已存在：请先获取其当前状态，再以 If-Match 请求头带上当前 ETag 重新提交"
                                 "（或以 If-None-Match: * 仅在文档不存在时创建）")
        raise XapiError(400, "PUT Profile 文档须带 If-Match 或 If-None-Match 请求头")


def _merged(row: LrsDocument, posted: dict[str, Any] | None) -> bytes:
    """The existing JSON object with the posted object's top-level properties set over it."""
    if posted is None or not _is_json(row.content_type):
        raise XapiError(400, "合并要求已有文档与提交的文档都是 application/json 的 JSON 对象")
    try:
        existing = json.loads(bytes(row.content).decode("utf-8"))
    except (ValueError, RecursionError):
        existing = None
    if not isinstance(existing, dict):
        raise XapiError(400, "已有文档不是 JSON 对象，无法合并")
    return json.dumps({**existing, **posted}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parsed(content: bytes, *, require_object: bool) -> Any:
    try:
        value = json.loads(content.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise XapiError(400, "Content-Type 为 application/json，但内容不是有效的 JSON") from None
    if require_object and not isinstance(value, dict):
        raise XapiError(400, "POST 的 application/json 文档须为 JSON 对象")
    return value


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_TYPE


def _checked_type(content_type: str) -> str:
    content_type = (content_type or "").strip() or UNKNOWN_TYPE
    if len(content_type) > 255 or "\x00" in content_type:
        raise XapiError(400, "Content-Type 过长或无效")
    return content_type


def max_bytes() -> int:
    return int(getattr(settings, "LRS_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _check_size(content: bytes) -> None:
    if len(content) > max_bytes():
        raise XapiError(413, f"文档过大：不能超过 {max_bytes()} 字节")
