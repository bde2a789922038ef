"""SECURITY 19: schemathesis fuzzes every operation of /api/v1/openapi.json:
no 5xx, responses conform to the schema, and no operation ignores auth."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

from accounts.services import api_token_create
from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def bearer(users):
    _, secret = api_token_create(user=users["county_admin"], name="fuzz")
    # Calls go straight to the WSGI app; like Django's test client, keep the
    # request signals from closing the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {secret}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db(transaction=False)
def test_api_operation(case, bearer):
    case.call_and_validate(
        headers=bearer, checks=[not_a_server_error, response_schema_conformance, ignored_auth]
    )
