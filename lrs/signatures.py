"""Signed statements (xAPI 1.0.3, Data 2.6).

A signed statement carries a JSON Web Signature (RFC 7515, compact serialisation) as an
attachment with usageType http://adlnet.gov/expapi/attachments/signature and contentType
application/octet-stream. The LRS refuses (400) a statement whose signature is malformed:

- the JWS must decode: three base64url segments, a JSON object header, a JSON object payload;
- its algorithm must be RS256, RS384 or RS512;
- when the header carries an X.509 chain (`x5c`), the signature must verify with the first
  certificate's RSA key, and each certificate must be issued by the next one. Without `x5c`
  there is no key to check against: the specification asks the LRS to verify only against a
  certificate the header includes, so a well-formed JWS is accepted as it is;
- the payload must be the statement as sent, without the signature attachment (compared as
  lrs.validation.statements_equal compares a replay).

As the specification notes, this catches mistakes; it does not authenticate the signer.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lrs.http import XapiError
from lrs.validation import statements_equal

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"
ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512(),
}
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _invalid(reason: str) -> XapiError:
    return XapiError(400, f"语句签名无效：{reason}")


def is_signature(attachment: Any) -> bool:
    return isinstance(attachment, dict) and attachment.get("usageType") == SIGNATURE_USAGE


def signature_attachment(statement: dict) -> dict | None:
    """The statement's signature attachment, if it is signed (at most one, of the right type)."""
    attachments = statement.get("attachments")
    found = [a for a in attachments if is_signature(a)] if isinstance(attachments, list) else []
    if not found:
        return None
    if len(found) > 1:
        raise _invalid("一条语句只能带一个签名附件")
    content_type = found[0].get("contentType")
    media = content_type.split(";", 1)[0].strip().lower() if isinstance(content_type, str) else ""
    if media != SIGNATURE_CONTENT_TYPE:
        raise _invalid(f"签名附件的 contentType 应为 {SIGNATURE_CONTENT_TYPE}")
    return found[0]


def _b64url(segment: str, what: str) -> bytes:
    # RFC 7515 base64url: no padding, no other characters (urlsafe_b64decode alone would skip them).
    if not BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise _invalid(f"JWS 的{what}不是有效的 base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise _invalid(f"JWS 的{what}不是有效的 base64url") from None


def _json_object(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _invalid(f"JWS 的{what}不是有效的 JSON") from None
    if not isinstance(value, dict):
        raise _invalid(f"JWS 的{what}应为 JSON 对象")
    return value


def _compact(jws: bytes) -> tuple[dict, dict, bytes, bytes]:
    """Header, payload, signing input and signature of a compact-serialised JWS."""
    try:
        text = jws.decode("ascii").strip()
    except UnicodeDecodeError:
        raise _invalid("签名附件不是 JWS 紧凑序列化（含非 ASCII 字节）") from None
    segments = text.split(".")
    if len(segments) != 3 or not segments[0] or not segments[2]:
        raise _invalid("签名附件不是 JWS 紧凑序列化（应为 header.payload.signature）")
    header = _json_object(_b64url(segments[0], "头部"), "头部")
    payload = _json_object(_b64url(segments[1], "载荷"), "载荷")
    signature = _b64url(segments[2], "签名")
    return header, payload, f"{segments[0]}.{segments[1]}".encode("ascii"), signature


def _algorithm(header: dict) -> hashes.HashAlgorithm:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise _invalid(f"alg 应为 RS256、RS384 或 RS512（收到 {alg!r}）")
    if "crit" in header:  # RFC 7515 4.1.11: extensions the LRS does not understand make it invalid
        raise _invalid("不支持 crit 头部参数")
    return ALGORITHMS[alg]


def _certificates(header: dict) -> list[x509.Certificate]:
    """The x5c chain (standard base64 DER, leaf first); empty when the header has none."""
    if "x5c" not in header:
        return []
    chain = header["x5c"]
    if not isinstance(chain, list) or not chain or not all(isinstance(item, str) for item in chain):
        raise _invalid("x5c 应为非空的证书字符串数组")
    certificates = []
    for position, item in enumerate(chain):
        try:
            certificates.append(x509.load_der_x509_certificate(base64.b64decode(item, validate=True)))
        except (binascii.Error, ValueError):
            raise _invalid(f"x5c 第 {position + 1} 个证书无法解析") from None
    for position, (certificate, issuer) in enumerate(zip(certificates, certificates[1:], strict=False)):
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise _invalid(f"x5c 第 {position + 1} 个证书不是由第 {position + 2} 个签发的") from None
    return certificates


def _verify(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm, signing_input: bytes,
            signature: bytes) -> None:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise _invalid("x5c 证书的公钥不是 RSA 公钥")
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise _invalid("签名与 x5c 证书的公钥不符") from None


def _unsigned(statement: dict, signed: dict) -> dict:
    """The statement as it was before it was signed: without the signature attachment (and
    without the id the LRS may have just given it, when the signed statement has none)."""
    unsigned = dict(statement)
    others = [a for a in statement.get("attachments") or [] if not is_signature(a)]
    if others:
        unsigned["attachments"] = others
    else:
        unsigned.pop("attachments", None)
    if "id" not in signed:
        unsigned.pop("id", None)
    return unsigned


def signature_verify(statement: dict, jws: bytes) -> None:
    """Refuse (400) the statement unless `jws` is a well-formed signature of it."""
    header, signed, signing_input, signature = _compact(jws)
    algorithm = _algorithm(header)
    certificates = _certificates(header)
    if certificates:
        _verify(certificates[0], algorithm, signing_input, signature)
    if signed.get("attachments") == []:
        signed = {name: value for name, value in signed.items() if name != "attachments"}
    unsigned = _unsigned(statement, signed)
    # Both ways round: statements_equal forgives a timestamp missing from its second argument.
    if not (statements_equal(signed, unsigned) and statements_equal(unsigned, signed)):
        raise _invalid("JWS 载荷与所提交的语句（去掉签名附件后）不一致")
