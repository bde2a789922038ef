"""schemathesis fuzzes every operation of /api/v1/openapi.json, one test item per
operation: no 5xx, responses conform to the schema, and no operation ignores auth.

Why the persona parameter: pytest 9 builds an item's node id from its original name and
its parametrize ids, not from the name it displays. schemathesis 4 gives every operation's
item the same original name (`test_api_operation`) unless the test is parametrized, when
the operation label becomes part of it. With 33 items under one node id, pytest-xdist
(`make test`: -n 2 --dist loadfile) kept one of them and fuzzed only GET /api/v1/me.
test_every_operation_is_fuzzed below fails if that comes back.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

from accounts.services import api_token_create
from config.api import api
from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Operations called at least once in this process; the whole module runs in one worker
# (--dist loadfile), so the meta-test at the end sees all of them.
CALLED: set[str] = set()


def _documented_operations() -> set[str]:
    """Counted from the API's own document, not from schemathesis, so nothing it skips hides."""
    document = api.get_openapi_schema()
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item if method in METHODS}


@pytest.fixture
def bearer(users, persona):
    _, secret = api_token_create(user=users[persona], name="fuzz")
    # Calls go straight to the WSGI app; like Django's test client, keep the
    # request signals from closing the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {secret}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@pytest.mark.parametrize("persona", ["county_admin"])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db(transaction=False)
def test_api_operation(case, bearer, persona):
    CALLED.add(case.operation.label)
    case.call_and_validate(
        headers=bearer, checks=[not_a_server_error, response_schema_conformance, ignored_auth]
    )


def test_every_operation_is_fuzzed(request):
    documented = _documented_operations()
    assert len(documented) >= 30
    items = [item for item in request.session.items if item.module is request.module and item.originalname != request.node.originalname]
    if not items:
        pytest.skip("the fuzz items are not selected in this run")
    ids = {item.nodeid for item in items}
    assert len(ids) == len(items), "fuzz items share node ids: pytest-xdist would run only one of them"
    assert len(ids) >= len(documented), f"{len(ids)} fuzz items for {len(documented)} operations"
    if len(items) == len(documented) and request.config.getoption("dist", "no") in ("no", "loadfile", "loadscope"):
        assert CALLED == documented, f"not called: {sorted(documented - CALLED)}"
