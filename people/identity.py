"""Resident ID numbers (GB 11643-1999): validation, masking, encryption and
the keyed blind index used to find a teacher by number without decrypting.

The keys live outside the database: YANXIU_FIELD_KEY / YANXIU_BLIND_INDEX_KEY
(or *_FILE), and in development files under var/keys/ created on first use.
The cipher is one small class so a deployment needing SM4 (密评) can swap it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


class IdNumberError(ValueError):
    """An ID number that cannot belong to a real person; message is Chinese."""


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def id_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def id_parse(raw: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate an 18-character ID and return what it encodes."""
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise IdNumberError("身份证号应为18位")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError("身份证号前17位应为数字，末位为数字或X")
    if id_check_character(number[:17]) != number[17]:
        raise IdNumberError("身份证号校验码错误")
    try:
        birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as error:
        raise IdNumberError("身份证号中的出生日期不存在") from error
    today = today or timezone.localdate()
    if birth_date.year < 1900 or birth_date > today:
        raise IdNumberError("身份证号中的出生日期不合理")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdNumber(number=number, birth_date=birth_date, sex=sex)


MASK_VISIBLE_HEAD = 3
MASK_VISIBLE_TAIL = 1


def id_mask(number: str) -> str:
    """The one masking rule for pages, API, exports and PDFs: the first 3 characters and
    the check character stay, 410**************X; 4 of 18 visible.

    Why so few. The hidden part must not be enumerable by someone who knows the teacher's
    county (the 6 area digits) and birth year, and their sex, which anyone who has met them
    knows. What is left to guess: the birth day, 365 (366), and the 3 sequence digits, 1000,
    of which the sex (parity of the 17th) leaves 500; the visible check character keeps about
    1 guess in 11. So 365 × 500 / 11 ≈ 16,600 numbers remain (33,200 without the sex); the
    test counts them by brute force. A guess can only be tested by searching by number, which
    is audited (one row a search) and limited per account to ID_LOOKUP_MAX_PER_HOUR (20) and
    ID_LOOKUP_MAX_PER_DAY (100): trying them all takes 166 days, half that on average, and
    leaves thousands of audit rows behind one account. Aiming at no one in particular, a
    county of 8,000 teachers (about 200 per birth year, 9 per year, sex and check character)
    answers 1 search in 1,800: one number in some 18 days, each search on the record.

    The former 3 + 4 showed the whole sequence number and the check character: only the day
    was left, 365 / 11 ≈ 33 numbers, 3 once the birth month was shown too; 300 searches in a
    few seconds recovered 17 numbers of 20. The first 3 digits say no more than the county
    does (province and the first digit of the city).

    An already masked value (the former 3 + 4, say, in an older export) gives the same as
    the full number: the characters kept were visible there too.
    """
    if not number:
        return ""
    if len(number) < 8:
        return "*" * len(number)
    hidden = len(number) - MASK_VISIBLE_HEAD - MASK_VISIBLE_TAIL
    return f"{number[:MASK_VISIBLE_HEAD]}{'*' * hidden}{number[-MASK_VISIBLE_TAIL:]}"


# 复姓: a name starting with one of these keeps both characters of the surname.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 轩辕 令狐 钟离 闾丘 澹台 公冶 太史 申屠 "
    "端木 西门 南宫 百里 呼延 独孤 万俟 濮阳 淳于 单于 赫连 左丘 拓跋 第五 梁丘 闻人 谷梁 宗政 公羊 东郭 羊舌 "
    "微生 亓官 司寇 子车 颛孙 巫马 公西 漆雕 乐正 壤驷 公良 段干 鲜于 仲孙 叔孙 南门 东门".split()
)


def name_mask(name: str) -> str:
    """A person's name for anyone who is not entitled to it (public pages): the
    surname stays, every other character becomes * (张* , 欧阳**, 阿*·***)."""
    name = (name or "").strip()
    if not name:
        return ""
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "".join(ch if ch in "·• " else "*" for ch in name[keep:])


def _load_key(setting_value: str | None, file_name: str) -> bytes:
    if setting_value:
        try:
            key = base64.urlsafe_b64decode(setting_value.encode())
        except ValueError as error:
            raise ImproperlyConfigured(f"{file_name}: not base64") from error
    else:
        if settings.IS_PROD:
            raise ImproperlyConfigured("personal-data keys must be configured in prod")
        path = Path(settings.VAR_DIR) / "keys" / file_name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        key = base64.urlsafe_b64decode(path.read_text().strip().encode())
    if len(key) != 32:
        raise ImproperlyConfigured(f"{file_name}: key must be 32 bytes")
    return key


class IdCipher:
    """AES-256-GCM with a random nonce; tokens are 'v1:' + base64(nonce + ciphertext)."""

    version = "v1"

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, associated: bytes = b"id_number") -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), associated)
        return f"{self.version}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, associated: bytes = b"id_number") -> str:
        version, _, body = token.partition(":")
        if version != self.version:
            raise ValueError(f"unknown cipher version {version!r}")
        raw = base64.b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], associated).decode()


@lru_cache(maxsize=1)
def _cipher() -> IdCipher:
    return IdCipher(_load_key(settings.FIELD_ENCRYPTION_KEY, "field.key"))


@lru_cache(maxsize=1)
def _blind_index_key() -> bytes:
    return _load_key(settings.BLIND_INDEX_KEY, "blind_index.key")


def id_encrypt(number: str) -> str:
    return _cipher().encrypt(number)


def id_decrypt(token: str) -> str:
    return _cipher().decrypt(token)


def field_encrypt(plaintext: str, *, purpose: str) -> str:
    """Another personal field under the same key; `purpose` binds the ciphertext to its column,
    so a token copied into another column does not decrypt there."""
    return _cipher().encrypt(plaintext, purpose.encode())


def field_decrypt(token: str, *, purpose: str) -> str:
    return _cipher().decrypt(token, purpose.encode())


def id_blind_index(number: str) -> str:
    return hmac.new(_blind_index_key(), number.strip().upper().encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _purpose_key(purpose: str) -> bytes:
    return hmac.new(_blind_index_key(), purpose.encode(), hashlib.sha256).digest()


def keyed_digest(purpose: str, message: str) -> str:
    """HMAC-SHA256 of `message` under a key derived for `purpose` from the
    blind-index key: a row checksum that nobody editing the database can forge."""
    return hmac.digest(_purpose_key(purpose), message.encode(), "sha256").hex()
