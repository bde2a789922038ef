"""Signed statements over HTTP (Data 2.6): a JWS (compact serialisation) as the signature
attachment, RS256/384/512, verified against the x5c certificate when there is one, its
payload the statement as sent without the signature attachment."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from lrs.tests.conftest import statement
from lrs.tests.test_attachments import assert_refused, get_attachments, multipart, parts_of, post

pytestmark = pytest.mark.django_db

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
HASHES = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(subject_key, *, name: str = "Test signer", issuer_key=None, issuer_name: str | None = None,
                ca: bool = False) -> x509.Certificate:
    """A certificate for `subject_key`, self-signed unless an issuer is given."""
    now = dt.datetime.now(dt.UTC)
    issuer_key = issuer_key or subject_key
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or name)]))
            .public_key(subject_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def der64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jws(payload, key, *, alg: str = "RS256", header: dict | None = None, payload_bytes: bytes | None = None) -> bytes:
    head = b64url(json.dumps({"alg": alg, **(header or {})}).encode())
    body = b64url(payload_bytes if payload_bytes is not None else json.dumps(payload).encode())
    signing_input = f"{head}.{body}".encode()
    if alg in HASHES:
        signature = key.sign(signing_input, padding.PKCS1v15(), HASHES[alg])
    else:  # what the suite's HS256 case sends: an HMAC keyed with the PEM
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        signature = hmac.new(pem, signing_input, hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}".encode()


def signature_attachment(token: bytes, content_type: str = "application/octet-stream") -> dict:
    return {"usageType": SIGNATURE, "display": {"en-US": "Signed"}, "contentType": content_type,
            "length": len(token), "sha2": hashlib.sha256(token).hexdigest()}


def signature_part(token: bytes) -> bytes:
    return (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            b"X-Experience-API-Hash: " + hashlib.sha256(token).hexdigest().encode() + b"\r\n\r\n" + token)


def signed(original: dict, token: bytes, **attachment) -> dict:
    return {**original, "attachments": [*original.get("attachments", []), signature_attachment(token, **attachment)]}


def unsigned() -> dict:
    return statement(id=str(uuid.uuid4()), timestamp="2024-05-01T08:00:00.000Z")


def send(xapi, sent: dict, token: bytes):
    return post(xapi, multipart(sent, signature_part(token)))


# --- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_a_statement_signed_with_an_x5c_certificate_is_accepted(xapi, key, alg):
    original = unsigned()
    token = jws(original, key, alg=alg, header={"x5c": [der64(certificate(key))]})
    response = send(xapi, signed(original, token), token)
    assert response.status_code == 200, response.content
    _, (headers, content) = parts_of(get_attachments(xapi, statementId=original["id"]))
    assert content == token
    assert headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_without_x5c_a_well_formed_signature_is_accepted(xapi, key, alg):
    """As the conformance suite signs: no certificate, so nothing to verify the signature with."""
    original = unsigned()
    token = jws(original, key, alg=alg)
    assert send(xapi, signed(original, token), token).status_code == 200


def test_a_certificate_chain_is_accepted_when_each_certificate_issues_the_previous(xapi, key, other_key):
    authority = certificate(other_key, name="Test CA", ca=True)
    leaf = certificate(key, issuer_key=other_key, issuer_name="Test CA")
    original = unsigned()
    token = jws(original, key, header={"x5c": [der64(leaf), der64(authority)]})
    assert send(xapi, signed(original, token), token).status_code == 200


def test_the_payload_keeps_the_statement_s_other_attachments(xapi, key):
    from lrs.tests.test_attachments import attachment, part

    content = b"a certificate of completion"
    original = {**unsigned(), "attachments": [attachment(content)]}
    token = jws(original, key)
    assert post(xapi, multipart(signed(original, token), part(content), signature_part(token))).status_code == 200


def test_a_payload_without_id_matches_a_statement_the_lrs_gives_an_id(xapi, key):
    original = statement(timestamp="2024-05-01T08:00:00.000Z")
    token = jws(original, key)
    response = send(xapi, signed(original, token), token)
    assert response.status_code == 200, response.content


def test_a_payload_with_an_empty_attachment_list_matches(xapi, key):
    original = unsigned()
    token = jws({**original, "attachments": []}, key)
    assert send(xapi, signed(original, token), token).status_code == 200


def test_signed_statements_in_a_batch(xapi, key):
    first, second = unsigned(), unsigned()
    first_token, second_token = jws(first, key), jws(second, key, alg="RS512")
    body = multipart([signed(first, first_token), signed(second, second_token)],
                     signature_part(first_token), signature_part(second_token))
    assert post(xapi, body).status_code == 200


# --- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "none", "PS256", "ES256", "rs256"])
def test_another_algorithm_is_refused(xapi, key, alg):
    original = unsigned()
    token = jws(original, key, alg=alg)
    assert "alg" in assert_refused(send(xapi, signed(original, token), token))


def test_a_signature_that_does_not_verify_with_the_certificate_is_refused(xapi, key, other_key):
    original = unsigned()
    token = jws(original, other_key, header={"x5c": [der64(certificate(key))]})
    assert_refused(send(xapi, signed(original, token), token))


def test_a_signature_made_with_another_hash_than_alg_says_is_refused(xapi, key):
    original = unsigned()
    token = jws(original, key, alg="RS256", header={"x5c": [der64(certificate(key))]})
    head, body, signature = token.split(b".")
    relabelled_head = b64url(json.dumps({"alg": "RS512", "x5c": [der64(certificate(key))]}).encode()).encode()
    token = b".".join([relabelled_head, body, signature])
    assert_refused(send(xapi, signed(original, token), token))


def test_a_payload_that_is_not_the_statement_is_refused(xapi, key):
    original = unsigned()
    token = jws({**original, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}, key)
    assert "载荷" in assert_refused(send(xapi, signed(original, token), token))


def test_a_payload_with_another_timestamp_is_refused(xapi, key):
    original = unsigned()
    token = jws({key_: value for key_, value in original.items() if key_ != "timestamp"}, key)
    assert_refused(send(xapi, signed(original, token), token))


def test_a_payload_that_is_not_json_is_refused(xapi, key):
    """The suite's breakJson: the first double quote replaced by a single one."""
    original = unsigned()
    token = jws(None, key, payload_bytes=json.dumps(original).replace('"', "'", 1).encode())
    assert_refused(send(xapi, signed(original, token), token))


@pytest.mark.parametrize("token", [
    b"not a jws at all",
    b"a.b",
    b"a.b.c.d",
    b"..",
    b"eyJhbGciOiJSUzI1NiJ9..c2ln",
    b"eyJhbGciOiJSUzI1NiJ9.e30=.c2ln",
    b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln\xff",
    b"bm90IGpzb24.e30.c2ln",  # header "not json"
    b"WzFd.e30.c2ln",  # header [1]
    b"eyJhbGciOiJSUzI1NiJ9.WzFd.c2ln",  # payload [1]
])
def test_a_malformed_jws_is_refused(xapi, token):
    assert_refused(send(xapi, signed(unsigned(), token), token))


def test_a_signature_attachment_of_another_content_type_is_refused(xapi, key):
    original = unsigned()
    token = jws(original, key)
    assert "contentType" in assert_refused(
        send(xapi, signed(original, token, content_type="text/plain; charset=ascii"), token))


def test_a_signature_attachment_without_its_jws_is_refused(xapi, key):
    original = unsigned()
    token = jws(original, key)
    sent = signed(original, token)
    sent["attachments"][0]["fileUrl"] = "http://over.there.com/signature.jws"
    assert_refused(post(xapi, multipart(sent)))


def test_two_signature_attachments_are_refused(xapi, key):
    original = unsigned()
    token, again = jws(original, key), jws(original, key, alg="RS384")
    sent = {**original, "attachments": [signature_attachment(token), signature_attachment(again)]}
    assert_refused(post(xapi, multipart(sent, signature_part(token), signature_part(again))))


@pytest.mark.parametrize("x5c", [[], "MIIB", ["not base64!"], [base64.b64encode(b"not DER").decode()], [1]])
def test_a_malformed_x5c_is_refused(xapi, key, x5c):
    original = unsigned()
    token = jws(original, key, header={"x5c": x5c})
    assert "x5c" in assert_refused(send(xapi, signed(original, token), token))


def test_a_chain_whose_second_certificate_did_not_issue_the_first_is_refused(xapi, key, other_key):
    original = unsigned()
    unrelated = certificate(other_key, name="Unrelated CA", ca=True)
    token = jws(original, key, header={"x5c": [der64(certificate(key)), der64(unrelated)]})
    assert_refused(send(xapi, signed(original, token), token))


def test_a_certificate_without_an_rsa_key_is_refused(xapi, key):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    original = unsigned()
    token = jws(original, key, header={"x5c": [der64(certificate(ec_key))]})
    assert "RSA" in assert_refused(send(xapi, signed(original, token), token))


def test_a_critical_header_extension_is_refused(xapi, key):
    original = unsigned()
    token = jws(original, key, header={"crit": ["exp"], "exp": 1})
    assert_refused(send(xapi, signed(original, token), token))


def test_a_bad_signature_in_a_batch_names_the_statement_and_stores_nothing(xapi, key):
    good, bad = unsigned(), unsigned()
    good_token, bad_token = jws(good, key), jws(good, key)  # the second signs the wrong statement
    body = multipart([signed(good, good_token), signed(bad, bad_token)], signature_part(good_token),
                     signature_part(bad_token))
    assert assert_refused(post(xapi, body)).startswith("第 2 条语句")
    assert xapi.get("statements", {"statementId": good["id"]}).status_code == 404


def test_a_signature_attachment_in_a_json_body_is_refused(xapi, key):
    original = unsigned()
    token = jws(original, key)
    sent = signed(original, token)
    sent["attachments"][0]["fileUrl"] = "http://over.there.com/signature.jws"
    assert_refused(xapi.post("statements", sent))
