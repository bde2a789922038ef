"""Production serving end to end: a real gunicorn (`yanxiu serve`, YANXIU_ENV=prod, generated keys)
answers /healthz, renders the log-in page with its CSP, serves a hashed static file with a year's
immutable caching and gzip, answers /readyz and /metrics, and stops cleanly: the checks of
`make prod-check` (deploy/prod_check.py). Runs on either database: on a file copy of the migrated
SQLite test database, or on the PostgreSQL test database itself (the server only reads)."""

import importlib.util
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _prod_check():
    spec = importlib.util.spec_from_file_location("prod_check", ROOT / "deploy" / "prod_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _migrated_database_url(tmp_path: Path) -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        # The test database lives in memory: the server gets a file copy of it.
        copy = tmp_path / "served.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(copy)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        return f"sqlite:///{copy}"
    assert connection.vendor == "postgresql"
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return f"postgres://{user}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


# transaction=True: no transaction of the test's own is open, so the copy need not wait for it,
# and on PostgreSQL the server sees the committed database.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_production_server_serves_pages_static_files_and_probes(tmp_path, capsys):
    url = _migrated_database_url(tmp_path)
    status = _prod_check().main(["--database-url", url, "--migrated", "--workers", "1"])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "FAIL" not in output
    for check in ("the log-in page has its Content-Security-Policy", "it is cached for a year as immutable",
                  "it is sent gzipped when asked", "/readyz answers 200", "the server stopped cleanly"):
        assert f"ok   {check}" in output
