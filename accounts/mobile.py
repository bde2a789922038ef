"""Mobile numbers of accounts: validated (mainland, 11 digits), stored encrypted with a keyed
blind index for log-in lookup (as the registry stores ID numbers), masked on screen."""

import re

from django.core.exceptions import ValidationError

from people.identity import blind_index, blind_indexes, field_decrypt, field_encrypt

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
PURPOSE = "accounts.mobile"
INVALID_MESSAGE = "请输入11位中国大陆手机号（1开头，第二位为3–9）。"


def mobile_normalise(value: str) -> str:
    """The number as stored: spaces, hyphens and a +86 / 86 prefix dropped."""
    digits = re.sub(r"[\s\-]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def mobile_parse(value: str) -> str:
    number = mobile_normalise(value)
    if not MOBILE_RE.fullmatch(number):
        raise ValidationError({"mobile": [INVALID_MESSAGE]}, code="invalid")
    return number


def looks_like_mobile(value: str) -> bool:
    return bool(MOBILE_RE.fullmatch(mobile_normalise(value)))


def mobile_index(number: str) -> str:
    """The index a number is stored under (the current blind-index key)."""
    return blind_index(PURPOSE, number)


def mobile_indexes(number: str) -> list[str]:
    """Every index the number may be stored under while the blind-index key rotates; lookups
    filter on these."""
    return blind_indexes(PURPOSE, number)


def mobile_encrypt(number: str) -> str:
    return field_encrypt(number, purpose=PURPOSE)


def mobile_decrypt(token: str) -> str:
    return field_decrypt(token, purpose=PURPOSE)


def mobile_mask(number: str) -> str:
    """138****1234: the operator prefix and the last four stay."""
    return f"{number[:3]}****{number[-4:]}" if len(number) == 11 else ""
