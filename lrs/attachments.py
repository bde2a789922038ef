"""Statements with attachments (xAPI 1.0.3: Data 2.4.11 and 2.6, Communication 1.5.2).

A PUT or POST of statements may be `multipart/mixed` (RFC 2046): the first part is the
statement(s), `application/json`; each further part is the raw content of one attachment,
with an `X-Experience-API-Hash` header (its SHA-2, checked against the bytes) and
`Content-Transfer-Encoding: binary` (assumed when absent, anything else refused).

Parts and attachments are matched by hash only. Every attachment without a fileUrl needs its
part, every part must be some attachment's, a statement with a signature attachment must be
correctly signed (lrs.signatures); anything wrong is a 400, never a 500.

The `attachments` value handed from `multipart_statements` through statements_store to
`attachments_check` and `attachments_store` is a dict: lower-case sha2 -> AttachmentPart,
one entry per distinct hash (a part sent twice is kept once). `None` stands for a JSON body.

Content is stored once per hash (StatementAttachment), whichever statements carry it. A GET
with attachments=true answers `multipart/mixed`: the JSON result, then one part per distinct
attachment the LRS holds content for (attachments known only by fileUrl have none).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpResponse

from lrs.http import XapiError, XapiRequest
from lrs.models import Statement, StatementAttachment
from lrs.signatures import signature_attachment, signature_verify

# SHA-2 digests by hex length (sha224, sha256, sha384, sha512): the LRS checks what it can.
DIGESTS = {56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
HEX = re.compile(r"[0-9a-fA-F]+")
BOUNDARY_PARAM = re.compile(r';\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', re.IGNORECASE)
# RFC 2046 bchars: 1 to 70 of them, not ending with a space.
BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# A media type as stored (StatementAttachment.content_type) and sent back in a part's header.
CONTENT_TYPE = re.compile(r"[\x20-\x7e]{1,255}")
DEFAULT_MAX_REQUEST_BYTES = 20 * 1024 * 1024


@dataclass
class AttachmentPart:
    sha2: str  # lower-case hex, verified against `content`
    content_type: str  # the part's Content-Type; "" until attachments_check fills in the attachment's
    content: bytes


def _media_type(value: Any) -> str:
    return value.split(";", 1)[0].strip().lower() if isinstance(value, str) else ""


# --- parsing a multipart/mixed request ------------------------------------------------------


def _boundary(content_type: str) -> bytes:
    match = BOUNDARY_PARAM.search(content_type)
    if match is None:
        raise XapiError(400, "multipart/mixed 的 Content-Type 缺少 boundary 参数")
    quoted, token = match.groups()
    value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
    if not BOUNDARY.fullmatch(value):
        raise XapiError(400, "multipart/mixed 的 boundary 不合规范（RFC 2046：1 至 70 个允许的字符）")
    return value.encode("ascii")


def _after_delimiter(data: bytes, position: int) -> int:
    """Where a part starts: after the delimiter's optional padding and its CRLF."""
    while data[position:position + 1] in (b" ", b"\t"):
        position += 1
    if not data.startswith(b"\r\n", position):
        raise XapiError(400, "multipart 分隔符后应紧跟换行（CRLF）")
    return position + 2


def _split(body: bytes, boundary: bytes) -> list[bytes]:
    """The parts' raw bytes (headers and content); the preamble and epilogue are dropped."""
    delimiter = b"\r\n--" + boundary
    data = b"\r\n" + body  # the first delimiter may open the body, without a CRLF before it
    found = data.find(delimiter)
    if found < 0:
        raise XapiError(400, "请求体中找不到 Content-Type 所声明的 multipart 分隔符")
    parts: list[bytes] = []
    position = found + len(delimiter)
    while not data.startswith(b"--", position):
        start = _after_delimiter(data, position)
        end = data.find(delimiter, start)
        if end < 0:
            raise XapiError(400, "multipart 请求体缺少结束分隔符")
        parts.append(data[start:end])
        position = end + len(delimiter)
    return parts


def _headers(block: bytes, number: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    lines: list[str] = []
    for line in block.decode("latin-1").split("\r\n"):
        if line[:1] in (" ", "\t") and lines:  # a folded header line continues the previous one
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name or " " in name:
            raise XapiError(400, f"multipart 第 {number} 部分的头格式不对：{line[:80]!r}")
        if name in headers:
            raise XapiError(400, f"multipart 第 {number} 部分的头 {name} 重复")
        headers[name] = value.strip()
    return headers


def _part(raw: bytes, number: int) -> tuple[dict[str, str], bytes]:
    if raw.startswith(b"\r\n"):  # no headers at all
        return {}, raw[2:]
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        raise XapiError(400, f"multipart 第 {number} 部分缺少头与内容之间的空行")
    return _headers(raw[:end], number), raw[end + 4:]


def _statements_part(raw: bytes) -> Any:
    headers, content = _part(raw, 1)
    if _media_type(headers.get("content-type")) != "application/json":
        raise XapiError(400, "multipart 的第一部分应为语句，Content-Type 为 application/json")
    try:
        return orjson.loads(content)  # as a JSON body is read (lrs.views)
    except orjson.JSONDecodeError:
        raise XapiError(400, "multipart 第一部分（语句）不是有效的 JSON") from None


def _digest_check(declared: str, content: bytes, number: int) -> str:
    name = DIGESTS.get(len(declared))
    if name is None or not HEX.fullmatch(declared):
        raise XapiError(400, f"multipart 第 {number} 部分的 X-Experience-API-Hash 不是 SHA-2 十六进制摘要")
    if hashlib.new(name, content).hexdigest() != declared.lower():
        raise XapiError(400, f"multipart 第 {number} 部分的内容与其 X-Experience-API-Hash 不符")
    return declared.lower()


def _attachment_part(raw: bytes, number: int) -> AttachmentPart:
    headers, content = _part(raw, number)
    declared = headers.get("x-experience-api-hash", "")
    if not declared:
        raise XapiError(400, f"multipart 第 {number} 部分缺少 X-Experience-API-Hash 头")
    encoding = headers.get("content-transfer-encoding", "binary").lower()
    if encoding != "binary":
        raise XapiError(400, f"multipart 第 {number} 部分的 Content-Transfer-Encoding 应为 binary")
    content_type = headers.get("content-type", "")
    if content_type and not CONTENT_TYPE.fullmatch(content_type):
        raise XapiError(400, f"multipart 第 {number} 部分的 Content-Type 过长或含有非法字符")
    return AttachmentPart(sha2=_digest_check(declared, content, number), content_type=content_type,
                          content=content)


def max_request_bytes() -> int:
    return int(getattr(settings, "LRS_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES))


def multipart_statements(xapi: XapiRequest) -> tuple[Any, dict[str, AttachmentPart]]:
    """The statement(s) of a multipart/mixed PUT or POST, and its attachment parts by sha2."""
    limit = max_request_bytes()
    if len(xapi.body) > limit:
        raise XapiError(413, f"请求体超过 {limit} 字节的上限")
    parts = _split(xapi.body, _boundary(xapi.header("content-type")))
    if not parts:
        raise XapiError(400, "multipart 请求体中没有语句部分")
    body = _statements_part(parts[0])
    attachments: dict[str, AttachmentPart] = {}
    for number, raw in enumerate(parts[1:], start=2):
        part = _attachment_part(raw, number)
        attachments.setdefault(part.sha2, part)  # the same hash twice: the same bytes
    return body, attachments


# --- checking statements against their parts ------------------------------------------------


def _declared(statement: dict) -> Iterator[dict]:
    """The statement's attachment objects, and those of its SubStatement."""
    holders = [statement]
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        holders.append(target)
    for holder in holders:
        listed = holder.get("attachments", [])
        if not isinstance(listed, list):
            raise XapiError(400, "attachments 应为数组")
        for attachment in listed:
            sha2 = attachment.get("sha2") if isinstance(attachment, dict) else None
            if not isinstance(sha2, str) or not sha2:
                raise XapiError(400, "attachments 中的每一项应为带 sha2 的附件对象")
            yield attachment


def _attachment_check(attachment: dict, parts: dict[str, AttachmentPart] | None, used: set[str]) -> None:
    # Matched by hash alone (Communication 1.5.2.s1.b4); `length` is not compared with the part:
    # the hash already pins the bytes, and the conformance suite itself sends mismatched lengths.
    sha2 = attachment["sha2"].lower()
    part = parts.get(sha2) if parts is not None else None
    if part is None:
        if not attachment.get("fileUrl"):
            where = "请求中没有其内容部分" if parts is not None else "以 application/json 提交时附件须有 fileUrl"
            raise XapiError(400, f"附件 {attachment['sha2']} 没有 fileUrl，{where}")
        return
    used.add(sha2)
    declared_type = attachment.get("contentType")
    if not part.content_type and isinstance(declared_type, str) and CONTENT_TYPE.fullmatch(declared_type):
        part.content_type = declared_type


def _signature_check(statement: dict, parts: dict[str, AttachmentPart] | None) -> None:
    signature = signature_attachment(statement)
    if signature is None:
        return
    part = (parts or {}).get(signature["sha2"].lower())
    if part is None:  # a fileUrl alone cannot be verified
        raise XapiError(400, "签名附件的内容（JWS）须在 multipart/mixed 请求中一并提交")
    signature_verify(statement, part.content)


def attachments_check(statements: list[dict], attachments: dict[str, AttachmentPart] | None) -> None:
    """Refuse (400) a batch whose attachments and parts do not match, or whose signatures are
    malformed. `attachments` is None for a JSON body: every attachment then needs a fileUrl."""
    used: set[str] = set()
    for position, statement in enumerate(statements):
        try:
            for attachment in _declared(statement):
                _attachment_check(attachment, attachments, used)
            _signature_check(statement, attachments)
        except XapiError as error:
            where = f"第 {position + 1} 条语句：" if len(statements) > 1 else ""
            raise XapiError(error.status, f"{where}{error.message}") from None
    extra = sorted(set(attachments or {}) - used)
    if extra:
        raise XapiError(400, f"multipart 中有不属于任何附件的部分（X-Experience-API-Hash：{'、'.join(extra)}）")


def attachments_store(attachments: dict[str, AttachmentPart] | None) -> None:
    """Keep each part's content once per hash: content already held is left as it is."""
    if not attachments:
        return
    rows = [StatementAttachment(sha2=part.sha2, content_type=part.content_type or "application/octet-stream",
                                content=part.content) for part in attachments.values()]
    StatementAttachment.objects.bulk_create(rows, ignore_conflicts=True, batch_size=100)


# --- answering a GET with attachments=true --------------------------------------------------


def _hashes(rows: Iterable[Statement]) -> list[str]:
    """The distinct sha2 of the rows' attachments, in order of first appearance."""
    found: dict[str, None] = {}
    for row in rows:
        if not row.has_attachments:
            continue
        try:
            declared = list(_declared(row.full))
        except XapiError:  # stored statements were checked on the way in; never fail a read on one
            continue
        for attachment in declared:
            found.setdefault(attachment["sha2"].lower(), None)
    return list(found)


def _contents(hashes: list[str]) -> list[StatementAttachment]:
    if not hashes:
        return []
    # Unscoped: the hashes come from statements the client was already allowed to read (the
    # rows passed in were selected through the access policy), and content is found by them alone.
    held = {row.sha2: row for row in StatementAttachment.objects.dangerously_unscoped().filter(sha2__in=hashes)}
    return [held[sha2] for sha2 in hashes if sha2 in held]


def _fresh_boundary(contents: list[bytes]) -> bytes:
    while True:
        boundary = secrets.token_hex(16).encode("ascii")
        if not any(boundary in content for content in contents):
            return boundary


def multipart_response(body: Any, rows: Iterable[Statement]) -> HttpResponse:
    """The statement result (or statement) `body`, then one part per distinct attachment."""
    rows = list(rows)
    document = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    attachments = _contents(_hashes(rows))
    contents = [bytes(row.content) for row in attachments]  # memoryview on PostgreSQL
    boundary = _fresh_boundary([document, *contents])
    chunks = [b"--" + boundary + b"\r\nContent-Type: application/json\r\n\r\n" + document]
    for row, content in zip(attachments, contents, strict=True):
        head = (f"Content-Type: {row.content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                f"X-Experience-API-Hash: {row.sha2}\r\n\r\n")
        chunks.append(b"\r\n--" + boundary + b"\r\n" + head.encode("ascii", "replace") + content)
    chunks.append(b"\r\n--" + boundary + b"--\r\n")
    return HttpResponse(b"".join(chunks), content_type=f"multipart/mixed; boundary={boundary.decode('ascii')}")
