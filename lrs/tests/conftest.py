"""An LRS client (credentials) and a way to call /xapi/ as it."""

import base64
import json

import pytest

from access.scope import Scope
from lrs.clients import client_create


class Xapi:
    def __init__(self, client, key: str, secret: str):
        self.client, self.key, self.secret = client, key, secret

    def client_row(self):
        from lrs.models import LrsClient

        return LrsClient.objects.dangerously_unscoped().get(key=self.key)

    def headers(self, **extra) -> dict:
        token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {token}", "HTTP_X_EXPERIENCE_API_VERSION": "1.0.3", **extra}

    def get(self, path: str, params=None, **extra):
        return self.client.get(f"/xapi/{path}", params or {}, **self.headers(**extra))

    def post(self, path: str, data, content_type="application/json", **extra):
        body = json.dumps(data) if content_type == "application/json" and not isinstance(data, (str, bytes)) else data
        return self.client.post(f"/xapi/{path}", body, content_type=content_type, **self.headers(**extra))

    def put(self, path: str, data, **extra):
        return self.client.put(f"/xapi/{path}", json.dumps(data), content_type="application/json", **self.headers(**extra))


@pytest.fixture
def make_xapi(province, client):
    def make(prefixes=("*",), *, reads_all=True, may_write=True, division=None, name="课程平台"):
        lrs_client, secret = client_create(scope=Scope.division(province.province), actor=None, name=name,
                                           division=division or province.province, activity_prefixes=list(prefixes),
                                           may_write=may_write, reads_all=reads_all)
        return Xapi(client, lrs_client.key, secret)

    return make


@pytest.fixture
def xapi(make_xapi):
    return make_xapi()


def statement(**overrides) -> dict:
    base = {
        "actor": {"objectType": "Agent", "mbox": "mailto:teacher@example.org", "name": "张老师"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"zh-CN": "完成", "en-US": "completed"}},
        "object": {"objectType": "Activity", "id": "https://courses.example.org/c/1",
                   "definition": {"name": {"zh-CN": "课堂教学能力", "en-US": "Classroom teaching"}}},
    }
    base.update(overrides)
    return base
