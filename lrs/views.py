"""The /xapi/ resources. Each view takes an `XapiRequest` (lrs.http: syntax, version,
credentials and rate already dealt with), calls a service or selector, and answers."""

from __future__ import annotations

import orjson
from django.http import HttpResponse
from django.utils.http import http_date

from lrs.http import (
    XAPI_VERSION,
    XAPI_VERSION_2,
    XapiError,
    XapiRequest,
    json_response,
    xapi_endpoint,
)
from lrs.statement_query import query_options, statement_list, statement_single
from lrs.statements import statements_store
from lrs.validation import parse_timestamp


def _json_body(xapi: XapiRequest):
    if xapi.content_type not in ("application/json", ""):
        raise XapiError(400, f"语句须以 application/json 提交（收到 {xapi.content_type}）")
    try:
        # orjson: several times faster for a batch, and strict (no NaN, valid UTF-8 only).
        return orjson.loads(xapi.body)
    except orjson.JSONDecodeError:
        raise XapiError(400, "请求体不是有效的 JSON") from None


@xapi_endpoint(methods={"GET"}, versioned=False, authenticated=False)
def about(xapi: XapiRequest) -> HttpResponse:
    return json_response({"version": ["1.0.3", "1.0.2", "1.0.1", "1.0.0", XAPI_VERSION_2]})


@xapi_endpoint(methods={"GET", "PUT", "POST"}, statements=True)
def statements(xapi: XapiRequest) -> HttpResponse:
    if xapi.method == "PUT":
        if set(xapi.params) != {"statementId"}:
            raise XapiError(400, "PUT 语句须且只须带 statementId 参数")
        from lrs.validation import StatementInvalid, validate_uuid

        try:
            statement_id = validate_uuid(xapi.params["statementId"])
        except StatementInvalid as error:
            raise XapiError(400, str(error)) from None
        body, attachments = _statement_content(xapi)
        if not isinstance(body, dict):
            raise XapiError(400, "PUT 只能提交一条语句")
        statements_store(scope=xapi.scope, client=xapi.client, statements=[body], statement_id=statement_id,
                         attachments=attachments, version=xapi.version)
        response = HttpResponse(status=204)
    elif xapi.method == "POST":
        if xapi.params:
            raise XapiError(400, f"POST 语句不能带查询参数：{'、'.join(sorted(xapi.params))}")
        body, attachments = _statement_content(xapi)
        batch = body if isinstance(body, list) else [body]
        ids = statements_store(scope=xapi.scope, client=xapi.client, statements=batch, attachments=attachments,
                               version=xapi.version)
        response = json_response(ids)
    else:
        response = _statements_get(xapi)
    return response


def _statement_content(xapi: XapiRequest):
    """The statement(s) of a PUT or POST, and its attachments (multipart/mixed) if any."""
    if xapi.content_type == "multipart/mixed":
        from lrs.attachments import multipart_statements

        return multipart_statements(xapi)
    return _json_body(xapi), None


def _statements_get(xapi: XapiRequest) -> HttpResponse:
    params = dict(xapi.params)
    fmt, attachments = query_options(params)
    if "statementId" in params or "voidedStatementId" in params:
        row = statement_single(xapi.scope, params)
        from lrs.statement_query import formatted

        body = formatted([row.full], fmt, accept_language=xapi.header("accept-language"))[0]
        if attachments:
            from lrs.attachments import multipart_response

            response = multipart_response(body, [row])
        else:
            response = json_response(body)
        response["Last-Modified"] = _last_modified(row.full["stored"], xapi.version)
        return response
    page = statement_list(xapi.scope, params, accept_language=xapi.header("accept-language"))
    result = {"statements": page.statements, "more": page.more}
    if attachments:
        from lrs.attachments import multipart_response

        return multipart_response(result, page.rows)
    return json_response(result)


def _last_modified(stored: str, version: str) -> str:
    """The statement's `stored` time: as an HTTP-date (RFC 9110) for a 2.0 request; 1.0.3
    answers keep sending the ISO 8601 value they always did."""
    if version != XAPI_VERSION_2:
        return stored
    return http_date(parse_timestamp(stored).timestamp())


__all__ = ["about", "statements", "XAPI_VERSION"]
