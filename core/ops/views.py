"""Probes for load balancers and Prometheus. Public (no log-in, no HTTPS redirect: see
SECURE_REDIRECT_EXEMPT); /metrics checks its caller itself."""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from core.ops import health, metrics
from core.requests import client_ip


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Liveness: the process serves requests. No database, so a database outage does not get
    every web process restarted."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request):
    """Readiness: 503 naming the failing checks when the primary database does not answer or a
    migration is not applied; 200 "degraded" when only a component with a fallback (a replica,
    Redis) fails; else 200 "ok"."""
    checks = health.readiness()
    failing = {name for name, result in checks.items() if result != health.OK}
    if failing & health.REQUIRED:
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "degraded" if failing else "ok", "checks": checks}, status=200)


@login_not_required
@never_cache
@require_GET
def metrics_view(request):
    if not metrics_allowed(request):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


def metrics_allowed(request) -> bool:
    """A scraper on an allowed address (METRICS_ALLOWED_IPS; the client address as our own
    proxies report it, so a request through nginx is judged by where it came from), or one
    presenting METRICS_TOKEN as a bearer token."""
    token = settings.METRICS_TOKEN
    authorization = request.headers.get("Authorization", "")
    if token and authorization.startswith("Bearer ") and hmac.compare_digest(
            authorization.removeprefix("Bearer ").strip().encode(), token.encode()):
        return True
    address = client_ip(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in allowed_networks(tuple(settings.METRICS_ALLOWED_IPS)))


def allowed_networks(entries: tuple[str, ...]) -> list:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]
