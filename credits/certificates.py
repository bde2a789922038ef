"""学时证明 (issue 3 item 5): a certificate of a teacher's hours for a cycle whose QR
code opens a public verification page.

Stateless: nothing is stored but the audit event of each issuance. What the
certificate states (teacher, school, cycle, rule version, required and counted
hours, counted hours per category, issue date, serial) travels in the QR code's
URL as a token, `base64url(JSON) "." base64url(HMAC-SHA256, 128 bits)`, the HMAC keyed by the
platform's integrity key for its own purpose (`people.identity.keyed_digest`),
so it is kept outside the database and survives a SECRET_KEY rotation. Any
change to a certificate's figures, or a token made up from nothing, fails
verification; the verification page shows the teacher's name masked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from credits.constants import CATEGORY_LABELS
from credits.models import Cycle
from credits.selectors import CycleSummary, teacher_cycle_summary
from org.models import School
from people.identity import keyed_digest, name_mask
from people.models import Teacher

PURPOSE = "credits.certificate"
TOKEN_VERSION = 1
SIGNATURE_BYTES = 16  # HMAC-SHA256 truncated to 128 bits: short enough for a small QR code
MAX_TOKEN_LENGTH = 600  # a real token is ~170 characters; anything longer is refused unread
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{22}")
TENTH = Decimal("0.1")
# One letter per category in tokens; a new category needs a new letter (a test checks).
CATEGORY_KEYS = {"centralised": "C", "online": "O", "school_based": "S", "guidance": "G", "other": "X"}
# The verification page is public: a client address may open it this often per minute
# (the API too, which is also limited per account).
VERIFY_MAX_PER_MINUTE = 60
VERIFY_API_MAX_PER_MINUTE_PER_ACCOUNT = 60
# Certificates issued per account per hour (each one is an audit event).
ISSUE_MAX_PER_HOUR = 30


@dataclass(frozen=True)
class Certificate:
    """What a certificate states, exactly as signed."""

    teacher_id: int
    school_id: int
    cycle_code: str
    rule_version: int
    required: Decimal
    counted: Decimal
    complete: bool
    categories: tuple[tuple[str, Decimal], ...]  # (category code, counted hours)
    issued_on: dt.date
    serial: str

    @property
    def category_lines(self) -> list[tuple[str, Decimal]]:
        """(Chinese label, counted hours) per category."""
        return [(CATEGORY_LABELS.get(code, code), hours) for code, hours in self.categories]

    @property
    def owed(self) -> Decimal:
        return max(Decimal(0), self.required - self.counted)


@dataclass(frozen=True)
class IssuedCertificate:
    certificate: Certificate
    token: str
    summary: CycleSummary


@dataclass(frozen=True)
class VerifiedCertificate:
    """A genuine certificate, with only what a stranger holding it may see."""

    certificate: Certificate
    masked_name: str
    school_name: str
    cycle: Cycle
    hours_changed: bool  # the ledger no longer gives the counted hours printed on it


# --- building, signing, reading tokens -------------------------------------------------------


def _tenth(value) -> Decimal:
    return Decimal(value).quantize(TENTH)


def certificate_serial(*, teacher_id: int, issued_on: dt.date) -> str:
    """A reference printed on the certificate and kept in the audit event of its issuance."""
    return f"YX{issued_on:%Y%m%d}-{teacher_id}-{secrets.token_hex(3).upper()}"


def certificate_build(*, teacher: Teacher, summary: CycleSummary, issued_on: dt.date, serial: str | None = None) -> Certificate:
    return Certificate(
        teacher_id=teacher.pk, school_id=teacher.school_id, cycle_code=summary.cycle.code,
        rule_version=summary.rule_version, required=_tenth(summary.required), counted=_tenth(summary.counted),
        complete=summary.complete,
        categories=tuple((line.category, _tenth(line.counted)) for line in summary.lines),
        issued_on=issued_on, serial=serial or certificate_serial(teacher_id=teacher.pk, issued_on=issued_on),
    )


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(body: str) -> str:
    return _b64encode(bytes.fromhex(keyed_digest(PURPOSE, body))[:SIGNATURE_BYTES])


def _tenths(hours: Decimal) -> int:
    return int(hours * 10)


def certificate_token(certificate: Certificate) -> str:
    """Positional JSON, hours in tenths, categories by one-letter key: a short URL, a small QR code."""
    fields = [
        TOKEN_VERSION, certificate.teacher_id, certificate.school_id, certificate.cycle_code, certificate.rule_version,
        _tenths(certificate.required), _tenths(certificate.counted), int(certificate.complete),
        {CATEGORY_KEYS[code]: _tenths(hours) for code, hours in certificate.categories},
        f"{certificate.issued_on:%Y%m%d}", certificate.serial,
    ]
    body = _b64encode(json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode())
    return f"{body}.{_signature(body)}"


def _int(value) -> int:
    if type(value) is not int:  # not a bool, float or string
        raise TypeError("not an integer")
    return value


def _hours(value) -> Decimal:
    return (Decimal(_int(value)) / 10).quantize(TENTH)


def _text(value, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError("bad text")
    return value


def _day(value) -> dt.date:
    text = _text(value, 8)
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        raise ValueError("bad date")
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))


def certificate_verify(token) -> Certificate | None:
    """The certificate a token states, or None when it is forged, altered,
    truncated or not a token at all. Never raises; the signature is checked
    before anything is decoded, so garbage costs one HMAC."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not TOKEN_SHAPE.fullmatch(token):
        return None
    body, _, signature = token.partition(".")
    if not hmac.compare_digest(_signature(body), signature):
        return None
    try:
        fields = json.loads(_b64decode(body))
        if not isinstance(fields, list) or len(fields) != 11 or _int(fields[0]) != TOKEN_VERSION:
            return None
        _, teacher_id, school_id, cycle_code, rule_version, required, counted, complete, categories, issued, serial = fields
        if not isinstance(categories, dict):
            return None
        by_key = {key: _hours(hours) for key, hours in categories.items()}
        if not set(by_key) <= set(CATEGORY_KEYS.values()):
            return None
        return Certificate(
            teacher_id=_int(teacher_id), school_id=_int(school_id), cycle_code=_text(cycle_code, 20),
            rule_version=_int(rule_version), required=_hours(required), counted=_hours(counted),
            complete=bool(_int(complete)),
            categories=tuple((code, by_key[key]) for code, key in CATEGORY_KEYS.items() if key in by_key),
            issued_on=_day(issued), serial=_text(serial, 60),
        )
    except (TypeError, ValueError, ArithmeticError, RecursionError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None


# --- issuing (a write: the audit event) and checking ------------------------------------------


def certificate_issue(*, teacher: Teacher, cycle: Cycle | None, actor, ip: str | None = None,
                      today: dt.date | None = None) -> IssuedCertificate | None:
    """Sign a certificate of `teacher`'s hours in `cycle` (the current one if None)
    as of today and record its issuance. The caller has checked `actor` may see
    the teacher. None when there is no cycle."""
    today = today or timezone.localdate()
    summary = teacher_cycle_summary(teacher=teacher, cycle=cycle, today=today)
    if summary is None:
        return None
    certificate = certificate_build(teacher=teacher, summary=summary, issued_on=today)
    audit_record(
        action=Action.CERTIFICATE_ISSUE, actor=actor, ip=ip, scope_path=teacher.division_path,
        object_type="teacher", object_id=teacher.pk,
        detail={"serial": certificate.serial, "cycle": certificate.cycle_code, "rule_version": certificate.rule_version,
                "required": str(certificate.required), "counted": str(certificate.counted)},
    )
    return IssuedCertificate(certificate=certificate, token=certificate_token(certificate), summary=summary)


def certificate_check(token) -> VerifiedCertificate | None:
    """What the public verification page shows for a token, or None if it is not genuine.

    Public on purpose: holding a validly signed token is what entitles the
    viewer to the masked name, school, cycle and hours it states, so the
    teacher is looked up without a scope."""
    certificate = certificate_verify(token)
    if certificate is None:
        return None
    teacher = (Teacher.objects.dangerously_unscoped()  # the signature stands in for a scope
               .filter(pk=certificate.teacher_id).only("name", "hire_date", "school_id").first())
    school = School.objects.dangerously_unscoped().filter(pk=certificate.school_id).only("name").first()
    cycle = Cycle.objects.filter(code=certificate.cycle_code).first()
    if teacher is None or school is None or cycle is None:
        return None
    summary = teacher_cycle_summary(teacher=teacher, cycle=cycle)
    now = {line.category: _tenth(line.counted) for line in summary.lines} if summary else {}
    changed = summary is None or _tenth(summary.counted) != certificate.counted or any(
        now.get(code, Decimal(0)) != hours for code, hours in certificate.categories
    )
    return VerifiedCertificate(certificate=certificate, masked_name=name_mask(teacher.name), school_name=school.name,
                               cycle=cycle, hours_changed=changed)

