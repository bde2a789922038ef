"""What every request to /xapi/ goes through, before and after its resource's view.

- The alternate request syntax (a POST with `?method=PUT` and the real request as form
  fields: `content`, header fields, query parameters) is turned back into the request it
  stands for, so views see one shape of request.
- The `X-Experience-API-Version` header is required (1.0.x or 2.0.x; `1.0` counts as 1.0.0), except
  on the About resource.
- HTTP Basic credentials name a client (lrs.clients); unknown, wrong or revoked: 401.
  Each client has a rate limit per minute (429).
- xAPI 2.0.0 (IEEE 9274.1.1) is accepted beside 1.0.3, keyed on that header: the request's
  `version` (1.0.3 or 2.0.0) decides which rules apply (validation, documents) and is the
  `X-Experience-API-Version` of the answer. 2.0 has no alternate request syntax: refused.
- Every response carries `X-Experience-API-Version`; every refusal a JSON body
  `{"error": <status name>, "message": <what was wrong>}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from access.scope import Scope

XAPI_VERSION = "1.0.3"
XAPI_VERSION_2 = "2.0.0"
# The versions a request may name: 1.0.x (`1.0` is 1.0.0) or 2.0.x (IEEE 9274.1.1).
VERSION_PATTERN = re.compile(r"^(?P<major>[12])\.0(\.\d+)?$")
METHODS = {"GET", "HEAD", "PUT", "POST", "DELETE"}
# Form fields of the alternate syntax that stand for headers (the spec's list).
HEADER_FIELDS = {"authorization", "x-experience-api-version", "content-type", "content-length", "if-match",
                 "if-none-match"}
STATUS_NAMES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large", 429: "Too Many Requests"}


class XapiError(Exception):
    """A refusal with the status the specification asks for and a message saying why."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class XapiRequest:
    """One xAPI request, whatever syntax it came in: the method it stands for, its query
    parameters, headers (lower-case names), body and the client that sent it."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    content_type: str
    client: Any = None
    scope: Scope = field(default_factory=Scope.nothing)
    alternate: bool = False
    # The version the request named: XAPI_VERSION (any 1.0.x) or XAPI_VERSION_2 (any 2.0.x).
    version: str = XAPI_VERSION
    django: HttpRequest | None = None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(orjson.dumps(data), status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: XapiError) -> HttpResponse:
    return json_response({"error": STATUS_NAMES.get(error.status, "Error"), "message": error.message},
                         status=error.status, headers=error.headers)


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _single_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise XapiError(400, f"参数重复：{name}")
        params[name] = value
    return params


def _body(request: HttpRequest) -> bytes:
    """The request body, read under the LRS's own limit (413 above it) rather than Django's
    form-upload limit, which would answer with a page instead of xAPI's JSON."""
    limit = settings.LRS_MAX_REQUEST_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise XapiError(400, "Content-Length 无效") from None
    if length > limit:
        raise XapiError(413, f"请求体超过上限（{limit} 字节）")
    try:
        body = request.read(limit + 1)
    except RawPostDataException:  # already parsed as a form upload: not an xAPI content type
        raise XapiError(400, f"不支持的 Content-Type：{request.headers.get('content-type', '')}") from None
    if len(body) > limit:
        raise XapiError(413, f"请求体超过上限（{limit} 字节）")
    return body


def parse_request(request: HttpRequest) -> XapiRequest:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = _single_params(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True))
    if request.method == "POST" and "method" in query:
        # Alternate request syntax: everything but `method` travels in the form.
        if set(query) != {"method"}:
            raise XapiError(400, "替代请求语法中，查询字符串只能包含 method 参数")
        method = query["method"].upper()
        if method not in METHODS - {"HEAD"}:
            raise XapiError(400, f"不支持的 method：{query['method']}")
        if _media_type(headers.get("content-type", "")) != "application/x-www-form-urlencoded":
            raise XapiError(400, "替代请求语法须使用 application/x-www-form-urlencoded")
        try:
            form = _single_params(parse_qsl(_body(request).decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise XapiError(400, "表单不是有效的 UTF-8") from None
        params, body = {}, b""
        for name, value in form.items():
            if name == "content":
                body = value.encode("utf-8")
            elif name.lower() in HEADER_FIELDS:
                headers[name.lower()] = value
            else:
                params[name] = value
        # The content's own type travels as a form field; without one it is JSON (statements).
        if "content-type" not in {name.lower() for name in form}:
            headers["content-type"] = "application/json"
        return XapiRequest(method=method, params=params, headers=headers, body=body,
                           content_type=_media_type(headers["content-type"]), alternate=True, django=request)
    body = _body(request)
    return XapiRequest(method=request.method or "GET", params=query, headers=headers, body=body,
                       content_type=_media_type(headers.get("content-type", "")), django=request)


def unnamed_version() -> str:
    """The version answered to a request that names none (or no valid one): 1.0.3 unless the
    deployment mainly serves 2.0 clients (LRS_DEFAULT_XAPI_VERSION)."""
    return XAPI_VERSION_2 if settings.LRS_DEFAULT_XAPI_VERSION.startswith("2.") else XAPI_VERSION


def version_named(header: str) -> str | None:
    """The version an X-Experience-API-Version value names (1.0.3 or 2.0.0), None if none."""
    match = VERSION_PATTERN.match(header.strip())
    if match is None:
        return None
    return XAPI_VERSION_2 if match["major"] == "2" else XAPI_VERSION


def _check_version(xapi: XapiRequest) -> None:
    """Refuse (400) a request whose header names no version we speak, and 2.0's refusals of
    request shapes it dropped."""
    version = xapi.header("x-experience-api-version").strip()
    if not version:
        raise XapiError(400, "缺少 X-Experience-API-Version 请求头")
    if version_named(version) is None:
        raise XapiError(400, f"不支持的 xAPI 版本：{version}（支持 1.0.x 与 2.0.x）")
    if xapi.alternate and xapi.version == XAPI_VERSION_2:
        # IEEE 9274.1.1 dropped the alternate request syntax (the version may sit in the form).
        raise XapiError(400, "xAPI 2.0 不支持替代请求语法（?method=）：请直接使用对应的 HTTP 方法")


def consistent_through() -> str:
    # Statements are committed before the answer is sent: everything stored until now is readable.
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def xapi_endpoint(*, methods: set[str], versioned: bool = True, authenticated: bool = True,
                  statements: bool = False) -> Callable:
    """Wrap a resource view taking an XapiRequest. The view returns an HttpResponse or raises
    XapiError; HEAD is served as GET without a body. `statements`: every answer, refusals too,
    carries X-Experience-API-Consistent-Through."""

    def decorator(view: Callable[[XapiRequest], HttpResponse]) -> Callable:
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def endpoint(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            xapi: XapiRequest | None = None
            try:
                xapi = parse_request(request)
                # The version the answer speaks; About answers without one in the unnamed version.
                xapi.version = version_named(xapi.header("x-experience-api-version")) or unnamed_version()
                allowed = methods | ({"HEAD"} if "GET" in methods else set())
                if xapi.method not in allowed:
                    raise XapiError(405, f"该资源不支持 {xapi.method}", {"Allow": ", ".join(sorted(allowed))})
                if versioned:
                    _check_version(xapi)
                if authenticated:
                    from lrs.clients import client_authenticate

                    xapi.client = client_authenticate(xapi.header("authorization"), write=xapi.method not in ("GET", "HEAD"))
                    xapi.scope = Scope.for_client(xapi.client)
                response = view(xapi, *args, **kwargs)
            except XapiError as error:
                response = error_response(error)
                # Routine answers (a document not there yet, a stale ETag, over the rate) are no
                # news to the client's administrators; the rest are kept with their reason.
                if xapi is not None and xapi.client is not None and error.status not in (404, 412, 429):
                    from lrs.traffic import rejection_record

                    rejection_record(xapi.client, method=xapi.method, resource=request.path, status=error.status,
                                     message=error.message)
            if request.method == "HEAD":
                response.content = b""
            # A request refused before its version was read (413, a bad form) is answered in the
            # version its header names, if any.
            response["X-Experience-API-Version"] = xapi.version if xapi is not None else (
                version_named(request.headers.get("x-experience-api-version", "")) or unnamed_version())
            if statements:
                response["X-Experience-API-Consistent-Through"] = consistent_through()
            response.setdefault("Cache-Control", "no-store")
            return response

        endpoint.yanxiu_policy = "lrs-client"  # type: ignore[attr-defined]
        endpoint.xapi_methods = methods  # type: ignore[attr-defined]
        return endpoint

    return decorator

