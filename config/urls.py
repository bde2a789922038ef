from django.urls import include, path

from config.api import api
from core import views as core_views
from core.ops import views as ops_views


def _api_urls():
    """The API authenticates every operation itself (bearer token or session) and
    answers 401 in JSON, so the page log-in redirect must not apply to it."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace


urlpatterns = [
    path("", core_views.root),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("home/", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("teachers/", include("people.urls")),
    path("org/", include("org.urls")),
    path("audit/", include("audit.urls")),
    path("credits/", include("credits.urls")),
    path("projects/", include("catalog.urls")),
    path("api/v1/", _api_urls()),
    path("xapi/", include("lrs.urls")),
    path("learning/courses/", include("learning.urls")),
    path("learning/", include("lrs.page_urls")),
    path("guidance/", include("guidance.urls")),
    path("institutions/", include("institutions.urls")),
    path("trainers/", include("trainers.urls")),
    path("notifications/", include("notifications.urls")),
    path("evaluation/", include("evaluation.urls")),
    path("quotas/", include("quotas.urls")),
    path("funding/", include("funding.urls")),
]
