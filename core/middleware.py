"""Response headers every page carries, and the 429 page for a throttled action."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.throttle import Throttled

NUL_MESSAGE = "输入含有不允许的字符（NUL）"
RANGE_MESSAGE = "数值超出范围"
# Every key and number the database stores is a signed 64-bit integer.
LARGEST_STORED_INTEGER = 2**63 - 1

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("X-Content-Type-Options", "nosniff")
        # Pages of signed-in users may hold personal data: never cache them.
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response


def throttled_response(request, exception: Throttled):
    """429 for too many attempts: JSON under /api/, else the styled page saying when to retry;
    Retry-After whenever the wait is known."""
    message = str(exception) or "请求过于频繁，请稍后再试。"
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"code": "throttled", "detail": message, "retry_after": exception.retry_after}, status=429)
    else:
        response = render(request, "429.html", {"message": message, "retry_minutes": exception.retry_minutes},
                          status=429)
    if exception.retry_after is not None:
        response["Retry-After"] = str(exception.retry_after)
    return response


class ThrottledMiddleware:
    """A service that refuses for too many attempts (accounts.throttle.Throttled) answers 429
    with its Chinese message, on any page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Throttled):
            return throttled_response(request, exception)
        return None


class RejectNulMiddleware:
    """A NUL character belongs in no text this system keeps (PostgreSQL refuses it outright, so
    it would surface as a 500): a path, query string, form field or JSON body holding one is
    refused with 400 before any view runs, on every database alike."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The LRS reads its own bodies (its size limit, xAPI's error answers; statements with a
        # NUL are refused by its validation, documents are bytes).
        if not request.path.startswith("/xapi/") and _holds_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": NUL_MESSAGE}, status=400)
            return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _holds_nul(request) -> bool:
    if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                     for key, values in request.GET.lists()):
        return True
    if request.method not in ("POST", "PUT", "PATCH"):
        return False
    if request.content_type == "application/json":
        body = request.body.lower()
        return b"\x00" in body or b"\\u0000" in body
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in key or any(isinstance(value, str) and "\x00" in value for value in values)
                   for key, values in request.POST.lists())
    return False


class RejectOutOfRangeNumberMiddleware:
    """A number beyond 64 bits names no row and fits no column: PostgreSQL simply finds nothing,
    but SQLite cannot even bind it (a 500). So a path segment holding one answers 404 and a
    query parameter holding one 400, before any view runs, on every database alike."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/xapi/"):  # the LRS answers its own way; its ids are not numbers
            return self.get_response(request)
        api = request.path.startswith("/api/")
        if any(_beyond_range(segment) for segment in request.path.split("/")):
            if api:
                return JsonResponse({"code": "not_found", "detail": "对象不存在或不在您的管辖范围内"}, status=404)
            return HttpResponse("对象不存在", status=404, content_type="text/plain; charset=utf-8")
        if any(_beyond_range(value) for values in request.GET.lists() for value in values[1]):
            if api:
                return JsonResponse({"code": "invalid", "detail": RANGE_MESSAGE}, status=400)
            return HttpResponse(RANGE_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _beyond_range(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return len(digits) > 18 and digits.isascii() and digits.isdigit() and int(digits) > LARGEST_STORED_INTEGER
