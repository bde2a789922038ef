"""The single NinjaAPI at /api/v1/. Every route authenticates (bearer token or
session with CSRF), resolves the caller's Scope and calls one selector/service."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.views import openapi_json
from ninja.security import APIKeyCookie, HttpBearer

from accounts.api import router as accounts_router
from accounts.models import ADMIN_ROLES
from accounts.services import api_token_authenticate
from accounts.throttle import Throttled
from catalog.api import router as catalog_router
from catalog.plan_api import router as plan_router
from credits.api import router as credits_router
from credits.compliance_api import router as compliance_router
from credits.external_api import router as external_router
from evaluation.api_instruments import router as evaluation_instruments_router
from evaluation.api_performance import router as evaluation_performance_router
from evaluation.api_ratings import router as evaluation_ratings_router
from evaluation.api_supervision import router as evaluation_supervision_router
from funding.api import router as funding_router
from guidance.api import router as guidance_router
from institutions.api import router as institutions_router
from institutions.base_api import router as training_bases_router
from learning.api import router as learning_router
from learning.push.api import router as push_router
from lrs.api import router as lrs_router
from notifications.api import router as notifications_router
from org.api import router as org_router
from people.api import router as people_router
from quotas.api_selection import router as quotas_selection_router
from quotas.api_targets import router as quotas_targets_router
from trainers.api import router as trainers_router


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionCookie(APIKeyCookie):
    """Django session (pages calling the API); CSRF is enforced on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def _docs_for_administrators(view):
    """The interactive docs and the OpenAPI document. Unless API_DOCS_PUBLIC (development),
    only an administrator reads them: signed in, or with an API token for the schema, which
    tools fetch without a browser. Read per request, so the setting can change in tests."""
    schema = getattr(view, "func", None) is openapi_json

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if settings.API_DOCS_PUBLIC:
            return view(request, *args, **kwargs)
        user = request.user if request.user.is_authenticated else None
        if user is None and schema:
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            user = api_token_authenticate(secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            if schema:
                return _error(request, 401, "unauthenticated", "需要登录或有效的 API 令牌")
            return redirect_to_login(request.get_full_path())
        if user.role not in ADMIN_ROLES:
            if schema:
                return _error(request, 403, "forbidden", "只有管理员可以查看接口文档")
            raise PermissionDenied("只有管理员可以查看接口文档")
        return view(request, *args, **kwargs)

    return guarded


api = NinjaAPI(
    title="研修平台 API",
    version="1.0.0",
    description="河南省中小学教师研修平台接口。所有数据按调用者的管辖范围过滤。",
    auth=[BearerToken(), SessionCookie()],
    urls_namespace="api",
    docs_decorator=_docs_for_administrators,
)
api.add_router("/", accounts_router)
api.add_router("/", org_router)
api.add_router("/", people_router)
api.add_router("/", credits_router)
api.add_router("/", compliance_router)
api.add_router("/", external_router)
api.add_router("/", catalog_router)
api.add_router("/", plan_router)
api.add_router("/", lrs_router)
api.add_router("/", learning_router)
api.add_router("/", push_router)
api.add_router("/", guidance_router)
api.add_router("/", institutions_router)
api.add_router("/", training_bases_router)
api.add_router("/", notifications_router)
api.add_router("/", trainers_router)
api.add_router("/", evaluation_instruments_router)
api.add_router("/", evaluation_ratings_router)
api.add_router("/", evaluation_supervision_router)
api.add_router("/", evaluation_performance_router)
api.add_router("/", quotas_targets_router)
api.add_router("/", quotas_selection_router)
api.add_router("/", funding_router)


def _error(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "detail": message, **extra}, status=status)


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, "not_found", "对象不存在或不在您的管辖范围内")


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return _error(request, 403, "forbidden", str(exc) or "无权执行该操作")


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return _error(request, 401, "unauthenticated", "需要登录或有效的 API 令牌")


@api.exception_handler(ValidationError)
def invalid(request, exc):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return _error(request, 422, "invalid", "输入有误", errors=errors)


@api.exception_handler(NinjaValidationError)
def invalid_request(request, exc):
    return _error(request, 422, "invalid", "请求参数有误", errors=exc.errors)


@api.exception_handler(OverflowError)
def out_of_range(request, exc):
    # A number in a JSON body beyond 64 bits (paths and query strings are refused earlier, by
    # core.middleware.RejectOutOfRangeNumberMiddleware): SQLite cannot bind it.
    return _error(request, 422, "invalid", "数值超出范围")


@api.exception_handler(Throttled)
def throttled(request, exc):
    response = _error(request, 429, "throttled", str(exc) or "请求过于频繁，请稍后再试", retry_after=exc.retry_after)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(HttpError)
def http_error(request, exc):
    return _error(request, exc.status_code, "error", str(exc))
