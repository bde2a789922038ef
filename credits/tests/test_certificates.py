"""学时证明 (issue 3 item 5): a signed PDF certificate of a cycle's hours whose QR
code opens a public verification page (masked name, school, hours)."""

import base64
import datetime as dt
import json
import re
import zlib
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from access.scope import scope_for_user
from audit.models import AuditEvent
from credits import certificate_views
from credits.certificates import (
    CATEGORY_KEYS,
    _signature,
    certificate_check,
    certificate_token,
    certificate_verify,
)
from credits.constants import Category
from credits.models import LedgerEntry
from credits.services import ledger_entry_record, ledger_entry_revoke
from people.identity import name_mask

CYCLE = "2026-2030"
TODAY = dt.date(2026, 11, 28)


def _record(teacher, category, hours, source_id, day):
    entry, _ = ledger_entry_record(teacher=teacher, category=category, hours=hours, occurred_on=day,
                                   source_type="project", source_id=source_id, today=TODAY)
    return entry


@pytest.fixture
def hours(province):
    """张三 (杞县第一小学): 6 h centralised + 4.5 h online = 10.5 counted hours."""
    first = _record(province.teacher, "centralised", "6", "P-1", dt.date(2026, 3, 10))
    _record(province.teacher, "online", "4.5", "C-1", dt.date(2026, 4, 2))
    return first


def _pdf_text(data: bytes) -> str:
    """The text drawn in a reportlab PDF (ASCII85+Flate content streams, CID
    font strings in UTF-16BE), without a PDF library."""
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    text = []
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = re.sub(rb"\s", b"", stream.group(1)).removesuffix(b"~>")
        try:
            content = zlib.decompress(base64.a85decode(raw))
        except ValueError:
            continue
        for literal in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            raw_string = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else escapes.get(m.group(1), m.group(1)),
                literal.group(1), flags=re.S,
            )
            text.append(raw_string.decode("utf-16-be", "replace"))
    return "".join(text)


def _qr_url(data: bytes) -> str:
    """The verification URL the QR code encodes (the same URL is the QR code's link in the PDF)."""
    found = re.findall(rb"/URI \((.*?)\)", data)
    assert len(found) == 1
    return found[0].decode()


def _download(client, teacher, cycle=CYCLE):
    return client.get(f"/credits/teachers/{teacher.pk}/certificate.pdf", {"cycle": cycle})


def _token(path: str) -> str:
    match = re.fullmatch(r"/credits/verify/([^/]+)/", path)
    assert match, path
    return match.group(1)


def _issue(client, teacher) -> str:
    response = _download(client, teacher)
    assert response.status_code == 200
    return _token(urlsplit(_qr_url(response.content)).path)


# --- the PDF -----------------------------------------------------------------------------------


def test_a_teacher_downloads_their_own_certificate(users, client_for, province, hours):
    response = _download(client_for(users["teacher"]), province.teacher)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    data = response.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")

    text = _pdf_text(data)
    for expected in ("继续教育学时证明", "张三", "杞县第一小学", CYCLE, "10.5", "集中培训", "网络研修", "扫码核验"):
        assert expected in text, expected

    url = _qr_url(data)
    assert url.startswith("http://testserver/credits/verify/")
    certificate = certificate_verify(_token(urlsplit(url).path))
    assert certificate is not None
    assert (certificate.teacher_id, certificate.school_id, certificate.cycle_code) == (
        province.teacher.pk, province.school.pk, CYCLE)
    assert certificate.counted == Decimal("10.5") and certificate.required == Decimal("360.0")
    assert dict(certificate.categories)["online"] == Decimal("4.5")
    assert certificate.serial in text

    event = AuditEvent.objects.dangerously_unscoped().get(action="credits.certificate")
    assert event.actor == users["teacher"] and event.object_id == str(province.teacher.pk)
    assert event.scope_path == province.teacher.division_path
    assert event.detail["serial"] == certificate.serial and event.detail["counted"] == "10.5"


@pytest.mark.parametrize("persona", ["county_admin", "school_admin", "city_admin", "province_admin"])
def test_administrators_of_the_teachers_jurisdiction_may_issue(persona, users, client_for, province, hours):
    response = _download(client_for(users[persona]), province.teacher)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.dangerously_unscoped().filter(action="credits.certificate", actor=users[persona]).count() == 1


@pytest.mark.parametrize("persona", ["sibling_admin", "direct_admin", "other_city_admin", "sibling_teacher_user"])
def test_anyone_else_gets_404_and_nothing_is_issued(persona, users, client_for, province, hours):
    response = _download(client_for(users[persona]), province.teacher)
    assert response.status_code == 404
    assert "张三" not in response.content.decode()
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="credits.certificate").exists()


def test_anonymous_is_sent_to_log_in(client, province, hours):
    response = _download(client, province.teacher)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_an_unknown_cycle_is_404(users, client_for, province):
    assert _download(client_for(users["teacher"]), province.teacher, cycle="1999-2003").status_code == 404


def test_the_default_cycle_is_the_current_one(users, client_for, province, hours):
    response = client_for(users["teacher"]).get(f"/credits/teachers/{province.teacher.pk}/certificate.pdf")
    assert response.status_code == 200
    assert certificate_verify(_token(urlsplit(_qr_url(response.content)).path)) is not None


def test_the_hours_page_links_to_the_certificate(users, client_for, province):
    body = client_for(users["teacher"]).get(f"/credits/teachers/{province.teacher.pk}/?cycle={CYCLE}").content.decode()
    assert "下载学时证明 (PDF)" in body
    assert f"/credits/teachers/{province.teacher.pk}/certificate.pdf?cycle={CYCLE}" in body


def test_issuing_is_rate_limited(users, client_for, province, monkeypatch):
    monkeypatch.setattr(certificate_views, "ISSUE_MAX_PER_HOUR", 2)
    client = client_for(users["teacher"])
    assert [_download(client, province.teacher).status_code for _ in range(3)] == [200, 200, 429]
    assert AuditEvent.objects.dangerously_unscoped().filter(action="credits.certificate").count() == 2


# --- the public verification page ------------------------------------------------------------


def test_the_verification_page_shows_a_genuine_certificate_with_the_name_masked(users, client_for, province, hours,
                                                                               client):
    token = _issue(client_for(users["county_admin"]), province.teacher)
    client.logout()
    response = client.get(f"/credits/verify/{token}/")
    assert response.status_code == 200
    assert response["X-Robots-Tag"].startswith("noindex")
    body = response.content.decode()
    assert "证书有效" in body and "与学时账本一致" in body
    assert "张*" in body and "张三" not in body
    for expected in ("杞县第一小学", CYCLE, "10.5", "360.0", certificate_verify(token).serial):
        assert expected in body, expected
    # Nothing more about the teacher than the certificate states.
    assert province.teacher.id_number not in body and province.teacher.id_number[-4:] not in body


def test_the_page_says_when_hours_changed_after_issue(users, client_for, province, hours, client):
    token = _issue(client_for(users["teacher"]), province.teacher)
    ledger_entry_revoke(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=hours.pk,
                        reason="重复登记")
    assert LedgerEntry.objects.dangerously_unscoped().filter(pk=hours.pk, state="revoked").exists()
    client.logout()
    response = client.get(f"/credits/verify/{token}/")
    body = response.content.decode()
    assert response.status_code == 200 and "证书有效" in body
    assert "证书签发后学时有变动" in body
    assert "10.5" in body and "4.5" in body  # what the certificate states, not today's figures


FIELDS = ["v", "t", "s", "c", "r", "q", "h", "ok", "k", "d", "n"]  # the token's positional fields


def _tamper(token: str, **changes) -> str:
    body, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for name, value in changes.items():
        fields[FIELDS.index(name)] = value
    new_body = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{new_body}.{signature}"


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def test_an_altered_or_forged_certificate_fails(users, client_for, province, hours, client):
    token = _issue(client_for(users["teacher"]), province.teacher)
    other = _issue(client_for(users["sibling_teacher_user"]), province.sibling_teacher)
    body, signature = token.split(".")
    altered = [
        _tamper(token, h=3600),  # more hours
        _tamper(token, ok=1),  # marked complete
        _tamper(token, t=province.sibling_teacher.pk),  # someone else's certificate
        _tamper(token, d="20301231"),  # issued later
        _tamper(token, k={"C": 3600}),  # other categories
        _flip(token, 5),  # a character of the payload
        _flip(token, len(token) - 3),  # a character of the signature
        f"{body}.{other.split('.')[1]}",  # another certificate's signature
        f"{other.split('.')[0]}.{signature}",
        token[:-1],  # truncated
    ]
    client.logout()
    for forged in altered:
        assert forged != token
        assert certificate_verify(forged) is None, forged
        response = client.get(f"/credits/verify/{forged}/")
        assert response.status_code == 404, forged
        body_text = response.content.decode()
        assert "证书无效" in body_text and "证书有效" not in body_text and "杞县第一小学" not in body_text
    assert client.get(f"/credits/verify/{token}/").status_code == 200


@pytest.mark.parametrize("garbage", [
    "abc", "a.b", "....", "AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "x" * 2000, "%E4%B8%AD%E6%96%87", "null", "e30.e30",
])
def test_garbage_is_not_a_certificate_and_never_an_error(garbage, client, db):
    response = client.get(f"/credits/verify/{garbage}/")
    assert response.status_code == 404
    assert "证书无效" in response.content.decode()
    assert response["X-Robots-Tag"].startswith("noindex")


@pytest.mark.parametrize("fields", [
    b"not json", b"[]", b'{"v":1}', b"[2]", b"[true]", b'[1,1,1,"2026-2030",1,3600,100,0,{},"20260101"]',
    b'[1,"1",1,"2026-2030",1,3600,100,0,{},"20260101","x"]',  # a string for an id
    b'[1,1,1,"2026-2030",1,3600,10.5,0,{},"20260101","x"]',  # hours not in tenths
    b'[1,1,1,"2026-2030",1,3600,100,0,{"Z":1},"20260101","x"]',  # an unknown category
    b'[1,1,1,"2026-2030",1,3600,100,0,[],"20260101","x"]',
    b'[1,1,1,"2026-2030",1,3600,100,0,{},"20261301","x"]',  # no such day
    b'[1,1,1,"",1,3600,100,0,{},"20260101","x"]',
    b"[" * 400, b"\xff\xfe",
])
def test_a_correctly_signed_but_malformed_payload_is_refused(fields, db):
    """Defence in depth: even content under a valid signature is parsed strictly."""
    body = base64.urlsafe_b64encode(fields).decode().rstrip("=")
    body = body if len(body) >= 8 else body + "A" * (8 - len(body))
    assert certificate_verify(f"{body}.{_signature(body)}") is None
    assert certificate_check(f"{body}.{_signature(body)}") is None


def test_a_certificate_of_a_teacher_or_cycle_that_no_longer_resolves_is_invalid(users, client_for, province, hours):
    token = _issue(client_for(users["teacher"]), province.teacher)
    assert certificate_verify(_resign(token, c="1999-2003")) is not None  # genuine, but no such cycle
    assert certificate_check(_resign(token, c="1999-2003")) is None
    assert certificate_check(_resign(token, t=2**40)) is None


def _resign(token: str, **changes) -> str:
    body = _tamper(token, **changes).split(".")[0]
    return f"{body}.{_signature(body)}"


def test_the_verification_page_is_rate_limited_per_address(client, db, monkeypatch):
    monkeypatch.setattr(certificate_views, "VERIFY_MAX_PER_MINUTE", 3)
    codes = [client.get("/credits/verify/abc/").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_tokens_round_trip_and_stay_short(users, client_for, province, hours):
    token = _issue(client_for(users["teacher"]), province.teacher)
    certificate = certificate_verify(token)
    assert certificate_token(certificate) == token
    assert len(token) < 250  # a QR code small enough to print on the certificate


def test_every_category_has_a_token_key():
    assert set(CATEGORY_KEYS) == set(Category.values)
    assert len(set(CATEGORY_KEYS.values())) == len(CATEGORY_KEYS)


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"), ("李小明", "李**"), ("欧阳娜娜", "欧阳**"), ("司马光", "司马*"), ("欧阳", "欧*"), ("王", "王"),
    ("阿依古丽·买买提", "阿***·***"), ("", ""),
])
def test_name_mask(name, masked):
    assert name_mask(name) == masked


# --- the API ------------------------------------------------------------------------------------


def test_the_api_verifies_for_signed_in_callers_with_masked_fields(users, client_for, province, hours, client):
    token = _issue(client_for(users["teacher"]), province.teacher)
    api = client_for(users["other_city_admin"])  # outside the teacher's jurisdiction: the token is the proof
    data = api.get("/api/v1/certificates/verify", {"token": token}).json()
    assert data["valid"] is True
    assert (data["masked_name"], data["school"], data["cycle"], data["counted"]) == ("张*", "杞县第一小学", CYCLE, 10.5)
    assert data["hours_changed"] is False
    assert "张三" not in json.dumps(data, ensure_ascii=False)
    assert api.get("/api/v1/certificates/verify", {"token": _tamper(token, h=3600)}).json() == {
        **{key: None for key in data if key not in ("valid", "categories")}, "valid": False, "categories": []}
    client.logout()
    assert client.get("/api/v1/certificates/verify", {"token": token}).status_code == 401


def _api_client(user, address):
    from django.test import Client

    api = Client(REMOTE_ADDR=address)
    api.force_login(user)
    return api


def test_the_api_is_rate_limited_per_account(users, db, monkeypatch):
    from credits import api as credits_api

    monkeypatch.setattr(credits_api, "VERIFY_API_MAX_PER_MINUTE_PER_ACCOUNT", 3)
    one = [_api_client(users["county_admin"], f"10.0.0.{n}") for n in range(1, 5)]  # one account, four addresses
    codes = [api.get("/api/v1/certificates/verify", {"token": "abc"}).status_code for api in one]
    assert codes == [200, 200, 200, 429]
    refused = one[0].get("/api/v1/certificates/verify", {"token": "abc"})
    assert refused.status_code == 429 and refused.json()["code"] == "throttled" and "频繁" in refused.json()["detail"]
    other = _api_client(users["sibling_admin"], "10.0.0.9")  # another account is counted apart
    assert other.get("/api/v1/certificates/verify", {"token": "abc"}).status_code == 200


def test_the_api_is_rate_limited_per_address(users, db, monkeypatch):
    from credits import api as credits_api

    monkeypatch.setattr(credits_api, "VERIFY_MAX_PER_MINUTE", 3)
    accounts = [_api_client(users[name], "10.0.1.1") for name in ("county_admin", "sibling_admin", "city_admin", "teacher")]
    codes = [api.get("/api/v1/certificates/verify", {"token": "abc"}).status_code for api in accounts]
    assert codes == [200, 200, 200, 429]  # four accounts behind one address
    assert _api_client(users["teacher"], "10.0.1.2").get("/api/v1/certificates/verify", {"token": "abc"}).status_code == 200
