"""Statements with attachments over HTTP: multipart/mixed requests (Communication 1.5.2),
content kept once per hash, GET with attachments=true answering multipart/mixed."""

import email.parser
import email.policy
import hashlib
import json
import uuid
from typing import Any

import pytest

from lrs.models import StatementAttachment
from lrs.tests.conftest import statement

pytestmark = pytest.mark.django_db

BOUNDARY = "-------314159265358979323846"
TEXT = b"here is a simple attachment"
# Bytes a careless parser would mangle: CRLFs, a NUL, non-UTF-8, dashes, a blank line.
BINARY = b"\x89PNG\r\n\x1a\n\x00\xff\xfe--" + BOUNDARY.encode() + b"x\r\n\r\n--\r\nend\r\n"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def attachment(content: bytes, *, content_type: str = "text/plain", file_url: str | None = None) -> dict:
    declared = {"usageType": "http://example.com/attachment-usage/test", "display": {"en-US": "A test attachment"},
                "contentType": content_type, "length": len(content), "sha2": sha256(content)}
    if file_url:
        declared["fileUrl"] = file_url
    return declared


def part(content: bytes, *, sha2: str | None = None, content_type: str | None = "text/plain",
         encoding: str | None = "binary", hashed: bool = True) -> bytes:
    headers = []
    if content_type:
        headers.append(f"Content-Type: {content_type}")
    if encoding:
        headers.append(f"Content-Transfer-Encoding: {encoding}")
    if hashed:
        headers.append(f"X-Experience-API-Hash: {sha2 or sha256(content)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + content


def json_part(statements) -> bytes:
    return b"Content-Type: application/json\r\n\r\n" + json.dumps(statements).encode()


def multipart(statements, *parts: bytes, boundary: str = BOUNDARY) -> bytes:
    delimiter = b"--" + boundary.encode()
    chunks = [json_part(statements), *parts]
    return b"".join(delimiter + b"\r\n" + chunk + b"\r\n" for chunk in chunks) + delimiter + b"--\r\n"


def post(xapi, body: bytes, content_type: str = f"multipart/mixed; boundary={BOUNDARY}"):
    return xapi.post("statements", body, content_type=content_type)


def with_attachments(*declared: dict, **overrides) -> dict:
    return statement(id=str(uuid.uuid4()), attachments=list(declared), **overrides)


def parts_of(response) -> list[tuple[dict, Any]]:
    """An independent reading (the standard library's MIME parser) of a multipart answer."""
    head = b"Content-Type: " + response["Content-Type"].encode() + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + response.content)
    assert message.get_content_type() == "multipart/mixed"
    return [(dict(p.raw_items()), p.get_payload(decode=True)) for p in message.iter_parts()]


def stored_contents() -> dict[str, bytes]:
    return {row.sha2: bytes(row.content) for row in StatementAttachment.objects.dangerously_unscoped().all()}


def get_attachments(xapi, **params):
    return xapi.get("statements", {"attachments": "true", **params})


# --- accepted requests ------------------------------------------------------------------------


def test_a_statement_with_its_attachment_part_is_stored_and_comes_back_byte_for_byte(xapi):
    sent = with_attachments(attachment(BINARY, content_type="image/png"))
    response = post(xapi, multipart(sent, part(BINARY, content_type="image/png")))
    assert response.status_code == 200, response.content
    assert response.json() == [sent["id"]]
    assert stored_contents() == {sha256(BINARY): BINARY}

    answer = get_attachments(xapi, statementId=sent["id"])
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("multipart/mixed; boundary=")
    (json_headers, document), (headers, content) = parts_of(answer)
    assert json_headers["Content-Type"] == "application/json"
    assert json.loads(document)["attachments"] == sent["attachments"]
    assert content == BINARY
    assert headers["X-Experience-API-Hash"] == sha256(BINARY)
    assert headers["Content-Transfer-Encoding"] == "binary"
    assert headers["Content-Type"] == "image/png"


def test_the_suite_s_own_shape_is_accepted(xapi):
    """As the conformance suite builds a body: CRLF before the first delimiter, no header
    space, no CRLF after the close delimiter."""
    sent = with_attachments(attachment(TEXT))
    body = (b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type:application/json\r\n\r\n" + json.dumps(sent).encode()
            + b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\n"
            + b"X-Experience-API-Hash:" + sha256(TEXT).encode() + b"\r\n\r\n" + TEXT + b"\r\n--" + BOUNDARY.encode() + b"--")
    assert post(xapi, body).status_code == 200


def test_a_quoted_boundary_with_the_specification_s_special_characters(xapi):
    boundary = "abcABC0123'()+_,-./:=?"
    sent = with_attachments(attachment(TEXT))
    response = post(xapi, multipart(sent, part(TEXT), boundary=boundary),
                    content_type=f'multipart/mixed; boundary="{boundary}"')
    assert response.status_code == 200, response.content


def test_a_preamble_an_epilogue_and_padding_after_a_delimiter_are_ignored(xapi):
    sent = with_attachments(attachment(TEXT))
    body = (b"This is the preamble.\r\n" + multipart(sent, part(TEXT)).replace(
        b"--" + BOUNDARY.encode() + b"\r\n", b"--" + BOUNDARY.encode() + b"  \r\n", 1) + b"epilogue\r\n")
    assert post(xapi, body).status_code == 200


def test_a_part_without_content_transfer_encoding_is_taken_as_binary(xapi):
    sent = with_attachments(attachment(TEXT))
    assert post(xapi, multipart(sent, part(TEXT, encoding=None))).status_code == 200


def test_a_part_without_content_type_takes_the_attachment_s(xapi):
    sent = with_attachments(attachment(TEXT, content_type="text/plain; charset=ascii"))
    assert post(xapi, multipart(sent, part(TEXT, content_type=None))).status_code == 200
    (_, _), (headers, _) = parts_of(get_attachments(xapi, statementId=sent["id"]))
    assert headers["Content-Type"] == "text/plain; charset=ascii"


@pytest.mark.parametrize("algorithm", ["sha224", "sha384", "sha512"])
def test_other_sha2_lengths_are_checked_too(xapi, algorithm):
    digest = hashlib.new(algorithm, TEXT).hexdigest()
    sent = with_attachments({**attachment(TEXT), "sha2": digest})
    assert post(xapi, multipart(sent, part(TEXT, sha2=digest))).status_code == 200
    assert stored_contents() == {digest: TEXT}


def test_hashes_match_whatever_their_case(xapi):
    sent = with_attachments({**attachment(TEXT), "sha2": sha256(TEXT).upper()})
    assert post(xapi, multipart(sent, part(TEXT))).status_code == 200
    _, (_, content) = parts_of(get_attachments(xapi, statementId=sent["id"]))
    assert content == TEXT


def test_a_multipart_request_without_attachments_is_accepted(xapi):
    assert post(xapi, multipart(statement())).status_code == 200


def test_a_multipart_request_whose_attachments_all_have_a_file_url_needs_no_parts(xapi):
    sent = with_attachments(attachment(TEXT, file_url="http://over.there.com/file.txt"))
    assert post(xapi, multipart(sent)).status_code == 200
    assert stored_contents() == {}


def test_a_part_for_an_attachment_with_a_file_url_is_kept(xapi):
    sent = with_attachments(attachment(TEXT, file_url="http://over.there.com/file.txt"))
    assert post(xapi, multipart(sent, part(TEXT))).status_code == 200
    assert stored_contents() == {sha256(TEXT): TEXT}


def test_file_url_attachments_in_a_json_body_are_accepted(xapi):
    sent = with_attachments(attachment(TEXT, file_url="http://over.there.com/file.txt"))
    assert xapi.post("statements", sent).status_code == 200
    answer = get_attachments(xapi, statementId=sent["id"])
    assert [json.loads(document)["id"] for _, document in parts_of(answer)] == [sent["id"]]  # no content held


def test_a_batch_shares_one_copy_of_an_attachment(xapi):
    other = b"another attachment"
    first = with_attachments(attachment(TEXT))
    second = with_attachments(attachment(TEXT), attachment(other))
    third = statement(id=str(uuid.uuid4()))
    response = post(xapi, multipart([first, second, third], part(TEXT), part(other)))
    assert response.status_code == 200, response.content
    assert response.json() == [first["id"], second["id"], third["id"]]
    assert stored_contents() == {sha256(TEXT): TEXT, sha256(other): other}


def test_a_part_sent_twice_is_kept_once(xapi):
    sent = with_attachments(attachment(TEXT))
    assert post(xapi, multipart(sent, part(TEXT), part(TEXT))).status_code == 200
    assert stored_contents() == {sha256(TEXT): TEXT}


def test_content_already_held_is_not_stored_again(xapi):
    assert post(xapi, multipart(with_attachments(attachment(TEXT)), part(TEXT))).status_code == 200
    assert post(xapi, multipart(with_attachments(attachment(TEXT)), part(TEXT))).status_code == 200
    assert StatementAttachment.objects.dangerously_unscoped().count() == 1


def test_a_put_with_attachments(xapi):
    sent = with_attachments(attachment(BINARY))
    response = xapi.client.put(f"/xapi/statements?statementId={sent['id']}", multipart(sent, part(BINARY)),
                               content_type=f"multipart/mixed; boundary={BOUNDARY}", **xapi.headers())
    assert response.status_code == 204, response.content
    assert stored_contents() == {sha256(BINARY): BINARY}


def test_a_replay_with_its_attachment_is_accepted(xapi):
    sent = with_attachments(attachment(TEXT))
    assert post(xapi, multipart(sent, part(TEXT))).status_code == 200
    assert post(xapi, multipart(sent, part(TEXT))).status_code == 200


# --- refused requests -------------------------------------------------------------------------


def assert_refused(response, status: int = 400) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["message"]


def test_an_attachment_without_its_part_is_refused(xapi):
    other = b"another attachment"
    sent = with_attachments(attachment(TEXT), attachment(other))
    message = assert_refused(post(xapi, multipart(sent, part(TEXT))))
    assert sha256(other) in message
    assert stored_contents() == {}


def test_a_part_no_attachment_declares_is_refused(xapi):
    extra = b"not declared anywhere"
    sent = with_attachments(attachment(TEXT))
    message = assert_refused(post(xapi, multipart(sent, part(TEXT), part(extra))))
    assert sha256(extra) in message


def test_a_part_whose_content_does_not_match_its_hash_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, part(b"other bytes", sha2=sha256(TEXT)))))


def test_a_part_declaring_another_hash_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, part(TEXT, sha2=sha256(b"something else")))))


@pytest.mark.parametrize("declared", ["", "xyz", "ab" * 20, "zz" * 32])
def test_a_hash_that_is_not_sha2_hex_is_refused(xapi, declared):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, part(TEXT, sha2=declared or None, hashed=bool(declared)))))


def test_a_part_without_a_hash_header_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert "X-Experience-API-Hash" in assert_refused(post(xapi, multipart(sent, part(TEXT, hashed=False))))


def test_a_part_in_another_transfer_encoding_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, part(TEXT, encoding="base64"))))


def test_the_first_part_must_be_json(xapi):
    sent = with_attachments(attachment(TEXT))
    body = multipart(sent, part(TEXT)).replace(b"Content-Type: application/json", b"Content-Type: text/plain", 1)
    assert_refused(post(xapi, body))


def test_statements_split_over_two_json_parts_are_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, json_part(sent), part(TEXT))))


def test_a_first_part_that_is_not_json_is_refused(xapi):
    body = multipart(statement()).replace(b'{"actor"', b"{actor", 1)
    assert_refused(post(xapi, body))


def test_a_content_type_without_boundary_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert "boundary" in assert_refused(post(xapi, multipart(sent, part(TEXT)), content_type="multipart/mixed;"))


def test_a_body_without_the_declared_boundary_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, part(TEXT)), content_type="multipart/mixed; boundary=other"))


def test_a_missing_delimiter_between_parts_is_refused(xapi):
    """The suite's "boundary not provided in body": the attachment's headers run into the JSON."""
    sent = with_attachments(attachment(TEXT))
    body = multipart(sent, part(TEXT)).replace(b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type: text/plain",
                                               b"\r\nContent-Type: text/plain", 1)
    assert_refused(post(xapi, body))


def test_a_body_without_its_close_delimiter_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    body = multipart(sent, part(TEXT)).removesuffix(b"--" + BOUNDARY.encode() + b"--\r\n")
    assert_refused(post(xapi, body))


def test_a_part_without_a_blank_line_after_its_headers_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    body = multipart(sent, b"Content-Type: text/plain\r\nX-Experience-API-Hash: " + sha256(TEXT).encode())
    assert_refused(post(xapi, body))


def test_a_batch_with_one_attachment_missing_names_the_statement(xapi):
    batch = [with_attachments(attachment(TEXT)), with_attachments(attachment(b"missing"))]
    assert assert_refused(post(xapi, multipart(batch, part(TEXT)))).startswith("第 2 条语句")


def test_a_request_over_the_size_limit_is_refused(xapi, settings):
    settings.LRS_MAX_REQUEST_BYTES = 1000
    content = b"x" * 1000
    sent = with_attachments(attachment(content))
    assert_refused(post(xapi, multipart(sent, part(content))), 413)


def test_multipart_form_data_is_refused(xapi):
    sent = with_attachments(attachment(TEXT))
    assert_refused(post(xapi, multipart(sent, part(TEXT)),
                        content_type=f"multipart/form-data; boundary={BOUNDARY}"))


@pytest.mark.parametrize("body", [
    b"",
    b"--" + BOUNDARY.encode(),
    b"--" + BOUNDARY.encode() + b"--\r\n",
    b"--" + BOUNDARY.encode() + b"\r\n\r\n\r\n--" + BOUNDARY.encode() + b"--",
    b"--" + BOUNDARY.encode() + b"garbage\r\n",
    b"--" + BOUNDARY.encode() + b"\r\nno colon here\r\n\r\n{}\r\n--" + BOUNDARY.encode() + b"--",
    b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/json\r\n\r\n\xff\xfe\r\n--" + BOUNDARY.encode() + b"--",
    b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/json\r\n\r\n" + b"[" * 100_000 + b"\r\n--"
    + BOUNDARY.encode() + b"--",
    bytes(range(256)) * 4,
])
def test_malformed_bodies_are_refused_not_errors(xapi, body):
    assert_refused(post(xapi, body))


@pytest.mark.parametrize("content_type", [
    "multipart/mixed; boundary=",
    'multipart/mixed; boundary="unclosed',
    "multipart/mixed; boundary=" + "b" * 71,
    "multipart/mixed; boundary=bad\x7f",
])
def test_malformed_boundaries_are_refused(xapi, content_type):
    assert "boundary" in assert_refused(post(xapi, multipart(statement()), content_type=content_type))


@pytest.mark.parametrize("attachments", [{"sha2": "x"}, ["not an object"], [{"usageType": "x"}]])
def test_malformed_attachment_lists_are_refused(xapi, attachments):
    assert_refused(post(xapi, multipart(statement(attachments=attachments))))


def test_an_attachment_without_file_url_in_a_json_body_is_refused(xapi):
    assert_refused(xapi.post("statements", with_attachments(attachment(TEXT))))


# --- GET --------------------------------------------------------------------------------------


def test_a_statement_result_with_attachments_true_has_one_part_per_distinct_attachment(xapi):
    other = b"another attachment"
    first = with_attachments(attachment(TEXT), attachment(BINARY, content_type="application/octet-stream"))
    second = with_attachments(attachment(TEXT), attachment(other))
    fetched_only = with_attachments(attachment(b"elsewhere", file_url="http://over.there.com/e.txt"))
    plain = statement(id=str(uuid.uuid4()))
    body = multipart([first, second, fetched_only, plain], part(TEXT), part(BINARY, content_type=None), part(other))
    assert post(xapi, body).status_code == 200

    answer = get_attachments(xapi)
    assert answer.status_code == 200
    (json_headers, document), *attachment_parts = parts_of(answer)
    result = json.loads(document)
    assert [s["id"] for s in result["statements"]] == [plain["id"], fetched_only["id"], second["id"], first["id"]]
    assert sorted(content for _, content in attachment_parts) == sorted([TEXT, BINARY, other])
    for headers, content in attachment_parts:
        assert headers["X-Experience-API-Hash"] == sha256(content)
    assert "X-Experience-API-Consistent-Through" in answer


def test_the_boundary_is_unquoted_as_the_suite_reads_it(xapi):
    """The suite takes the boundary as `content-type.split(";")[1].replace(" boundary=", "")`."""
    sent = with_attachments(attachment(TEXT))
    post(xapi, multipart(sent, part(TEXT)))
    answer = get_attachments(xapi, statementId=sent["id"])
    boundary = answer["Content-Type"].split(";")[1].replace(" boundary=", "")
    sections = answer.content.split(b"--" + boundary.encode())
    assert any(TEXT in section for section in sections)
    assert answer.content.count(sha256(TEXT).encode()) == 2  # in the statement, and on its part


@pytest.mark.parametrize("params", [{"attachments": "false"}, {}])
def test_without_attachments_true_the_answer_is_json(xapi, params):
    sent = with_attachments(attachment(TEXT))
    post(xapi, multipart(sent, part(TEXT)))
    for query in ({**params, "statementId": sent["id"]}, params):
        answer = xapi.get("statements", query)
        assert answer.status_code == 200
        assert answer["Content-Type"].startswith("application/json")
        assert TEXT not in answer.content


def test_a_head_with_attachments_true_has_no_body(xapi):
    sent = with_attachments(attachment(TEXT))
    post(xapi, multipart(sent, part(TEXT)))
    answer = xapi.client.head("/xapi/statements", {"statementId": sent["id"], "attachments": "true"},
                              **xapi.headers())
    assert answer.status_code == 200
    assert answer.content == b""


def test_attachment_content_is_only_served_with_statements_the_client_may_read(make_xapi):
    writer = make_xapi(reads_all=False, name="平台甲")
    reader = make_xapi(reads_all=False, name="平台乙")
    sent = with_attachments(attachment(TEXT))
    assert post(writer, multipart(sent, part(TEXT))).status_code == 200
    assert reader.get("statements", {"statementId": sent["id"], "attachments": "true"}).status_code == 404
    answer = get_attachments(reader)
    assert TEXT not in answer.content
    assert len(parts_of(answer)) == 1


def test_a_sub_statement_s_attachments_need_their_parts_too(xapi):
    inner = {"objectType": "SubStatement", "actor": {"mbox": "mailto:learner@example.org"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "https://courses.example.org/c/2"}, "attachments": [attachment(BINARY)]}
    sent = statement(id=str(uuid.uuid4()), object=inner)
    assert_refused(post(xapi, multipart(sent)))
    assert post(xapi, multipart(sent, part(BINARY))).status_code == 200
    assert stored_contents() == {sha256(BINARY): BINARY}
