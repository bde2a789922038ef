"""Start the platform as production runs it and check it answers: `make prod-check`.

    .venv/bin/python deploy/prod_check.py [--keep] [--database-url URL [--migrated]]

In a throwaway folder (VAR_DIR) with generated keys and YANXIU_ENV=prod: `yanxiu migrate` into a
new SQLite file (or the database given) while `yanxiu collectstatic` builds the static files,
then `yanxiu serve` on a free loopback port. It waits for /healthz, then checks: the log-in page
renders 200 with its Content-Security-Policy, a hashed static file is served with a year's
immutable caching and gzip when asked, /readyz answers 200 once the migrations are in, /metrics
answers loopback, and each answer carries an X-Request-ID. Then it stops the server. Exit status
0 when every check passed, 1 otherwise; each check is printed as it is made."""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
YANXIU = [sys.executable, "-m", "config.cli"]
# Passed through to the children; everything else (DATABASE_URL, REDIS_URL, *_FILE, ...) is
# dropped so the check never reaches a real database or broker by accident.
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
STATIC_HREF = re.compile(r'/static/css/yanxiu\.[0-9a-f]{12}\.css')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def prod_env(var_dir: Path, database_url: str) -> dict[str, str]:
    """Every variable production requires, freshly generated."""
    return {
        **{name: os.environ[name] for name in PASS_ENV if name in os.environ},
        "YANXIU_ENV": "prod",
        "YANXIU_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "YANXIU_FIELD_KEY": key(),
        "YANXIU_BLIND_INDEX_KEY": key(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The redirect stays on: requests say they came through TLS (X-Forwarded-Proto), as
        # nginx's do; the probes are exempt and are sent without it.
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "READYZ_MIGRATIONS_CACHE_SECONDS": "0",
        "GUNICORN_THREADS": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class Checks:
    def __init__(self):
        self.failures: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)
        if not ok:
            self.failures.append(name)
        return ok


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def wait_for(port: int, path: str, status: int, deadline: float, server: subprocess.Popen) -> bool:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            if get(port, path)[0] == status:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def run_checks(port: int, server: subprocess.Popen, migrate: subprocess.Popen | None, checks: Checks) -> None:
    tls = {"X-Forwarded-Proto": "https"}
    if not checks.check("the server answers /healthz", wait_for(port, "/healthz", 200, time.monotonic() + 60, server),
                        "no answer within 60 s (see the server log)"):
        return
    status, headers, body = get(port, "/healthz")
    checks.check("/healthz says ok", json.loads(body) == {"status": "ok"}, body.decode()[:200])
    checks.check("answers carry an X-Request-ID", bool(headers.get("x-request-id")), str(headers))
    status, headers, _ = get(port, "/healthz", {"X-Request-ID": "prod-check-1"})
    checks.check("an incoming X-Request-ID is returned", headers.get("x-request-id") == "prod-check-1",
                 str(headers.get("x-request-id")))

    status, headers, body = get(port, "/accounts/login/", tls)
    checks.check("the log-in page renders", status == 200, f"status {status}")
    checks.check("the log-in page has its Content-Security-Policy",
                 "default-src 'self'" in headers.get("content-security-policy", ""), str(headers))
    status, headers, _ = get(port, "/accounts/login/")
    checks.check("plain HTTP pages are redirected to HTTPS", status == 301, f"status {status}")

    match = STATIC_HREF.search(body.decode("utf-8", "replace"))
    if checks.check("the page links a hashed stylesheet", match is not None, "no /static/css/yanxiu.<hash>.css"):
        assert match is not None
        status, headers, _ = get(port, match.group(0), {**tls, "Accept-Encoding": "gzip"})
        cache = headers.get("cache-control", "")
        checks.check("the hashed stylesheet is served", status == 200, f"status {status}")
        checks.check("it is cached for a year as immutable", "max-age=31536000" in cache and "immutable" in cache, cache)
        checks.check("it is sent gzipped when asked", headers.get("content-encoding") == "gzip",
                     str(headers.get("content-encoding")))

    if migrate is not None:
        checks.check("the migrations ran", migrate.wait(timeout=300) == 0, "yanxiu migrate failed")
    ready = wait_for(port, "/readyz", 200, time.monotonic() + 30, server)
    status, _, body = get(port, "/readyz")
    checks.check("/readyz answers 200", ready, f"{status} {body.decode()[:300]}")
    status, _, body = get(port, "/metrics")
    checks.check("/metrics answers loopback", status == 200 and b"django_http_responses_total_by_status_view_method"
                 in body, f"status {status}")
    status, _, _ = get(port, "/metrics", {"X-Forwarded-For": "203.0.113.7"})
    checks.check("/metrics refuses an outside address", status == 403, f"status {status}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="migrate and use this database instead of a new SQLite file")
    parser.add_argument("--migrated", action="store_true", help="the database given is migrated already")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway folder (logs, static files)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    started = time.monotonic()
    var_dir = Path(tempfile.mkdtemp(prefix="yanxiu-prod-check-"))
    env = prod_env(var_dir, args.database_url or f"sqlite:///{var_dir / 'prod-check.sqlite3'}")
    port = free_port()
    print(f"prod-check: {var_dir}, port {port}", flush=True)
    checks = Checks()
    server = None
    log = open(var_dir / "server.log", "wb")  # noqa: SIM115 - handed to the server
    # The migrations and the static files are independent: build both at once.
    migrate = None
    if not (args.migrated and args.database_url):
        migrate = subprocess.Popen([*YANXIU, "migrate", "--no-input", "-v0"], cwd=REPO, env=env,  # noqa: S603
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        collect = subprocess.run([*YANXIU, "collectstatic", "--no-input", "-v0"], cwd=REPO, env=env,  # noqa: S603
                                 capture_output=True, text=True, timeout=600)
        print(f"     collectstatic: {time.monotonic() - started:.1f} s", flush=True)
        if checks.check("collectstatic builds the static files", collect.returncode == 0, collect.stderr[-2000:]):
            server = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [*YANXIU, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
                                      cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            run_checks(port, server, migrate, checks)
    finally:
        if server is not None:
            stop(server)
        if migrate is not None and migrate.poll() is None:
            migrate.kill()
            migrate.wait()
        log.close()
    if server is not None:
        checks.check("the server stopped cleanly", server.returncode == 0, f"exit status {server.returncode}")
    if checks.failures:
        print(f"--- server log ({var_dir / 'server.log'}) ---")
        print((var_dir / "server.log").read_text(errors="replace")[-4000:])
    print(f"prod-check: {len(checks.failures)} failed, {time.monotonic() - started:.1f} s", flush=True)
    if not args.keep and not checks.failures:
        import shutil

        shutil.rmtree(var_dir, ignore_errors=True)
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
