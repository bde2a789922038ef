"""The document resources (/activities/state, /activities/profile, /agents/profile) and the
Activities and Agents resources. Each view reads the request (lrs.http has dealt with syntax,
version and credentials), calls lrs.documents, and answers; HEAD is answered as GET."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import http_date

from lrs.documents import (
    JSON_TYPE,
    DocumentRequest,
    Preconditions,
    activity_get,
    activity_param,
    agent_param,
    document_delete,
    document_get,
    document_list,
    document_post,
    document_put,
    document_request,
    etag_of,
    person_get,
    refuse_unknown,
)
from lrs.http import XAPI_VERSION_2, XapiRequest, json_response, xapi_endpoint
from lrs.models import DocumentKind

DOCUMENT_METHODS = {"GET", "PUT", "POST", "DELETE"}
FORM_TYPE = "application/x-www-form-urlencoded"


@xapi_endpoint(methods=DOCUMENT_METHODS)
def activity_state(xapi: XapiRequest) -> HttpResponse:
    return _document_resource(xapi, DocumentKind.STATE)


@xapi_endpoint(methods=DOCUMENT_METHODS)
def activity_profile(xapi: XapiRequest) -> HttpResponse:
    return _document_resource(xapi, DocumentKind.ACTIVITY_PROFILE)


@xapi_endpoint(methods=DOCUMENT_METHODS)
def agent_profile(xapi: XapiRequest) -> HttpResponse:
    return _document_resource(xapi, DocumentKind.AGENT_PROFILE)


@xapi_endpoint(methods={"GET"})
def activities(xapi: XapiRequest) -> HttpResponse:
    refuse_unknown(xapi.params, {"activityId"})
    return _tagged(json_response(activity_get(activity_param(xapi.params))))


@xapi_endpoint(methods={"GET"})
def agents(xapi: XapiRequest) -> HttpResponse:
    refuse_unknown(xapi.params, {"agent"})
    return _tagged(json_response(person_get(agent_param(xapi.params))))


def _document_resource(xapi: XapiRequest, kind: str) -> HttpResponse:
    method = "GET" if xapi.method == "HEAD" else xapi.method
    target = document_request(kind, method, xapi.params)
    if method == "GET":
        return _get(xapi, target)
    preconditions = Preconditions.from_headers(xapi.headers.get("if-match"), xapi.headers.get("if-none-match"),
                                               state_guarded=xapi.version == XAPI_VERSION_2)
    if method == "DELETE":
        document_delete(xapi.scope, context=target.context, document_id=target.document_id,
                        preconditions=preconditions)
        return HttpResponse(status=204)
    assert target.document_id is not None  # document_request requires it for PUT and POST
    store = document_put if method == "PUT" else document_post
    store(xapi.scope, client=xapi.client, context=target.context, document_id=target.document_id,
          content=xapi.body, content_type=_content_type(xapi), preconditions=preconditions)
    return HttpResponse(status=204)


def _get(xapi: XapiRequest, target: DocumentRequest) -> HttpResponse:
    if target.document_id is None:
        found = document_list(xapi.scope, target.context, target.since)
        response = _tagged(json_response(found.ids))
        if found.last_modified is not None:
            response["Last-Modified"] = http_date(found.last_modified.timestamp())
        return response
    document = document_get(xapi.scope, target.context, target.document_id)
    response = HttpResponse(document.content, content_type=document.content_type)
    response["ETag"] = f'"{document.etag}"'
    response["Last-Modified"] = http_date(document.updated.timestamp())
    return response


def _content_type(xapi: XapiRequest) -> str:
    """The document's type as sent. In the alternate syntax it is the Content-Type form field;
    without one the header still names the form itself, and the content is taken as JSON (as
    the conformance suite expects of statements sent that way)."""
    content_type = xapi.header("content-type").strip()
    if xapi.alternate and content_type.split(";", 1)[0].strip().lower() == FORM_TYPE:
        return JSON_TYPE
    return content_type


def _tagged(response: HttpResponse) -> HttpResponse:
    """Every GET answer carries an ETag: the SHA-1 of what it returns."""
    response["ETag"] = f'"{etag_of(response.content)}"'
    return response
