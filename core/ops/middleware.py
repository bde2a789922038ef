"""The outermost middleware: binds the request id and writes one log line per request.

The line names the route (the URL pattern's name, never the path: no ids or personal data), the
method, the status, the time taken and the account's numeric id; never a query string, a user
name or a token."""

import logging
import time

from django.utils.functional import empty

from core.ops.request_id import (
    HEADER,
    bind_request_id,
    new_request_id,
    safe_request_id,
    unbind_request_id,
)

logger = logging.getLogger("yanxiu.request")

# Load balancers and Prometheus call these every few seconds: their lines would drown the rest.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = safe_request_id(request.headers.get(HEADER)) or new_request_id()
        request.request_id = request_id
        token = bind_request_id(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            fields = request_fields(request, response.status_code, started)
            logger.log(logging.DEBUG if request.path in PROBE_PATHS else logging.INFO, "%s %s %s %sms",
                       fields["method"], fields["route"] or "-", fields["status"], fields["duration_ms"],
                       extra=fields)
            return response
        finally:
            unbind_request_id(token)


def request_fields(request, status: int, started: float) -> dict:
    match = getattr(request, "resolver_match", None)
    return {
        "method": request.method if request.method in KNOWN_METHODS else "OTHER",
        "route": match.view_name if match is not None else None,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "user_id": loaded_user_id(request),
    }


def loaded_user_id(request) -> int | None:
    """The signed-in account's id when the request already loaded its user: reading it here must
    not add a session query to a request that never needed one (the health checks)."""
    lazy = request.__dict__.get("user")
    if lazy is None:
        return None
    user = getattr(lazy, "_wrapped", lazy)
    if user is empty or not getattr(user, "is_authenticated", False):
        return None
    return user.pk
