"""Parsing request values (core.requests): junk in a form field or a header is never a 500."""

import pytest
from django.test import RequestFactory

from core.requests import client_ip, object_id

# str.isdigit() is true for these, int() refuses all but the last two.
NOT_IDS = ["²", "12³", "①", "٣٤", "１２", "", " ", "-1", "1.0", "0x10", "9" * 18, None]


@pytest.mark.parametrize("value", NOT_IDS)
def test_object_id_takes_only_ascii_digits(value):
    assert object_id(value) == 0


def test_object_id_reads_a_plain_id():
    assert object_id(" 42 ") == 42 and object_id(7) == 7


@pytest.mark.parametrize("value", ["²", "٣"])
def test_a_page_given_a_superscript_id_refuses_it_without_a_500(users, client_for, value):
    response = client_for(users["county_admin"]).post("/accounts/tokens/", {"revoke": value})
    assert response.status_code < 500


@pytest.mark.parametrize(("remote", "expected"), [
    ("203.0.113.9", "203.0.113.9"),
    ("fe80::1%eth0", None),  # a scoped address: PostgreSQL's inet column refuses the zone
    ("not-an-address", None),
    ("", None),
])
def test_client_ip_returns_only_a_plain_address(settings, remote, expected):
    settings.TRUSTED_PROXY_HOPS = 0
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_client_ip_skips_a_scoped_forwarded_address(settings):
    settings.TRUSTED_PROXY_HOPS = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="fe80::1%25eth0, fe80::2%eth1")
    assert client_ip(request) == "10.0.0.2"


def test_a_nul_character_is_refused_as_bad_input_not_a_server_error(users, client_for):
    """PostgreSQL refuses NUL in text; before, a `%00` in a filter or a JSON string was a 500."""
    client = client_for(users["county_admin"])
    assert client.get("/teachers/", {"q": "张\x00"}).status_code == 400
    assert client.get("/api/v1/regions", {"parent": "41\x00"}).status_code == 400
    assert client.post("/projects/plans/", {"year": "2027", "note": "说明\x00"}).status_code == 400
    created = client.post("/api/v1/plans", {"year": 2027, "note": "说明\u0000"}, content_type="application/json")
    assert created.status_code == 400 and created.json()["code"] == "invalid"
    assert client.post("/api/v1/plans", {"year": 2027, "note": "说明"}, content_type="application/json").status_code == 201


HUGE = "1252444459154468904108032"  # beyond 64 bits: SQLite cannot bind it


def test_a_number_beyond_64_bits_is_not_found_or_bad_input_not_a_server_error(users, client_for):
    """SQLite raised OverflowError (a 500) for an id no column can hold; PostgreSQL found nothing."""
    client = client_for(users["county_admin"])
    api = client.get(f"/api/v1/projects/{HUGE}/score")
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert client.get(f"/projects/{HUGE}/").status_code == 404
    assert client.get(f"/api/v1/projects/{2**63 - 1}/score").status_code == 404  # the largest storable: looked up
    query = client.get("/api/v1/projects", {"plan": HUGE})
    assert query.status_code == 400 and query.json() == {"code": "invalid", "detail": "数值超出范围"}
    assert client.get("/teachers/", {"school": HUGE}).status_code == 400
    assert client.get("/teachers/", {"q": "张三"}).status_code == 200
