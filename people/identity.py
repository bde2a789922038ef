"""Resident ID numbers (GB 11643-1999): validation, masking, encryption and
the keyed blind index used to find a teacher by number without decrypting.

The keys live outside the database: YANXIU_FIELD_KEY / YANXIU_BLIND_INDEX_KEY /
YANXIU_INTEGRITY_KEY (or *_FILE), and in development files under var/keys/ created on
first use. Three keys, three jobs:

- the field key encrypts personal fields (ID numbers, mobile numbers). Retired field keys
  (YANXIU_FIELD_KEYS_RETIRED) still decrypt until `yanxiu keys rotate-field` has
  re-encrypted every column under the current one;
- the blind-index key makes the keyed indexes that find a row by number without
  decrypting. Retired ones (YANXIU_BLIND_INDEX_KEYS_RETIRED) are still searched until
  `yanxiu keys reindex` has recomputed every index;
- the integrity key signs the tamper-evident chains (audit log, hours ledger, checkpoints,
  certificates) through `keyed_digest`. It defaults to the blind-index key, which signed
  them before the keys were split, so existing databases keep verifying; it never rotates
  with the blind-index key.

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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
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


class KeyMissing(ImproperlyConfigured):
    """A token or an index needs a key that is not configured. The message names the key
    (by its id, never the key) and the setting that would supply it."""


def key_id(key: bytes) -> str:
    """A short public name for a key, written into tokens and reports: a one-way fingerprint,
    so naming the key says nothing about it."""
    return hashlib.sha256(b"yanxiu.key-id|" + key).hexdigest()[:8]


def _decode_key(value: str, name: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.strip().encode())
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: not base64") from error
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name}: key must be 32 bytes")
    return key


def _load_key(setting_value: str | None, file_name: str, env_name: str) -> bytes:
    if setting_value:
        return _decode_key(setting_value, env_name)
    if settings.IS_PROD:
        raise ImproperlyConfigured("personal-data keys must be configured in prod")
    path = Path(settings.VAR_DIR) / "keys" / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return _decode_key(path.read_text(), file_name)


def _retired_keys(values: list[str], env_name: str) -> tuple[bytes, ...]:
    # Comma-separated, or one a line in a *_FILE: both are accepted.
    keys = [key for value in values for key in value.split()]
    return tuple(_decode_key(key, f"{env_name} (item {number})") for number, key in enumerate(keys, start=1))


class FieldCipher:
    """AES-256-GCM with a random nonce under one key. Tokens are 'v2:<key id>:' +
    base64(nonce + ciphertext); the 'v1:' tokens written before keys had ids name no key."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)
        self.key_id = key_id(key)
        self.prefix = f"v2:{self.key_id}:"

    def encrypt(self, plaintext: str, associated: bytes) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), associated)
        return self.prefix + base64.b64encode(nonce + sealed).decode()

    def open(self, body: str, associated: bytes) -> str:
        """Decrypt a token's body; InvalidTag if this key did not seal it (or not for `associated`)."""
        raw = base64.b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], associated).decode()


@dataclass(frozen=True)
class FieldKeyring:
    """The field key that encrypts, and the retired ones that still decrypt."""

    current: FieldCipher
    retired: tuple[FieldCipher, ...] = ()

    @property
    def ciphers(self) -> tuple[FieldCipher, ...]:
        return (self.current, *self.retired)

    def encrypt(self, plaintext: str, associated: bytes) -> str:
        return self.current.encrypt(plaintext, associated)

    def decrypt(self, token: str, associated: bytes) -> str:
        version, _, rest = token.partition(":")
        if version == "v2":
            wanted, _, body = rest.partition(":")
            cipher = next((c for c in self.ciphers if c.key_id == wanted), None)
            if cipher is None:
                raise KeyMissing(f"field key {wanted} is not configured: it must be YANXIU_FIELD_KEY or be listed in "
                                 f"YANXIU_FIELD_KEYS_RETIRED (configured: {self.describe()})")
            return cipher.open(body, associated)
        if version == "v1":  # names no key: the current one first, then the retired ones
            for cipher in self.ciphers:
                try:
                    return cipher.open(rest, associated)
                except InvalidTag:
                    continue
            raise KeyMissing(f"no configured field key decrypts this v1 token (configured: {self.describe()}); "
                             "was the key that wrote it dropped from YANXIU_FIELD_KEYS_RETIRED too early?")
        raise ValueError(f"unknown cipher version {version!r}")

    def describe(self) -> str:
        retired = ", ".join(c.key_id for c in self.retired) or "none"
        return f"current {self.current.key_id}, retired {retired}"


def token_key_id(token: str) -> str:
    """The id of the key a token names: '' for an empty value, 'v1' for a token that names none."""
    if not token:
        return ""
    if token.startswith("v2:"):
        return token[3:].partition(":")[0]
    return "v1"


@lru_cache(maxsize=1)
def field_keyring() -> FieldKeyring:
    current = _load_key(settings.FIELD_ENCRYPTION_KEY, "field.key", "YANXIU_FIELD_KEY")
    retired = _retired_keys(settings.FIELD_ENCRYPTION_KEYS_RETIRED, "YANXIU_FIELD_KEYS_RETIRED")
    return FieldKeyring(FieldCipher(current), tuple(FieldCipher(key) for key in retired if key != current))


@dataclass(frozen=True)
class BlindIndexKeys:
    """The blind-index key that indexes, and the retired ones still searched."""

    current: bytes
    retired: tuple[bytes, ...] = ()

    @property
    def all(self) -> tuple[bytes, ...]:
        return (self.current, *self.retired)


@lru_cache(maxsize=1)
def blind_index_keys() -> BlindIndexKeys:
    current = _load_key(settings.BLIND_INDEX_KEY, "blind_index.key", "YANXIU_BLIND_INDEX_KEY")
    retired = _retired_keys(settings.BLIND_INDEX_KEYS_RETIRED, "YANXIU_BLIND_INDEX_KEYS_RETIRED")
    return BlindIndexKeys(current, tuple(key for key in retired if key != current))


@lru_cache(maxsize=1)
def _integrity_key() -> bytes:
    if settings.INTEGRITY_KEY:
        return _decode_key(settings.INTEGRITY_KEY, "YANXIU_INTEGRITY_KEY")
    if settings.BLIND_INDEX_KEYS_RETIRED:
        # The default (the blind-index key) would now be the new key, under which no chain was signed.
        raise KeyMissing("YANXIU_BLIND_INDEX_KEYS_RETIRED is set but YANXIU_INTEGRITY_KEY is not: set "
                         "YANXIU_INTEGRITY_KEY to the former blind-index key, which signed the audit log and the ledger")
    return blind_index_keys().current


def integrity_key_id() -> str:
    return key_id(_integrity_key())


ID_PURPOSE = b"id_number"  # the associated data binding an ID token to the ID column


def id_encrypt(number: str) -> str:
    return field_keyring().encrypt(number, ID_PURPOSE)


def id_decrypt(token: str) -> str:
    return field_keyring().decrypt(token, ID_PURPOSE)



def field_encrypt(plaintext: str, *, purpose: str) -> str:
    """Another personal field under the same key; `purpose` binds the ciphertext to its column,
    so a token copied into another column does not decrypt there."""
    return field_keyring().encrypt(plaintext, purpose.encode())


def field_decrypt(token: str, *, purpose: str) -> str:
    return field_keyring().decrypt(token, purpose.encode())


def id_index_under(key: bytes, number: str) -> str:
    return hmac.new(key, number.strip().upper().encode(), hashlib.sha256).hexdigest()


def id_blind_index(number: str) -> str:
    """The index a teacher's number is stored under (the current blind-index key)."""
    return id_index_under(blind_index_keys().current, number)


def id_blind_indexes(number: str) -> list[str]:
    """Every index the number may be stored under while a blind-index key rotates: the current
    one first. Every filter on a number uses these (`id_index__in`)."""
    return [id_index_under(key, number) for key in blind_index_keys().all]


def keyed_index_under(key: bytes, purpose: str, value: str) -> str:
    purpose_key = hmac.new(key, purpose.encode(), hashlib.sha256).digest()
    return hmac.digest(purpose_key, value.encode(), "sha256").hex()


def blind_index(purpose: str, value: str) -> str:
    """The blind index of another personal field (a mobile number), under a key derived for
    `purpose` from the current blind-index key."""
    return keyed_index_under(blind_index_keys().current, purpose, value)


def blind_indexes(purpose: str, value: str) -> list[str]:
    """As id_blind_indexes, for another field: current key first, then the retired ones."""
    return [keyed_index_under(key, purpose, value) for key in blind_index_keys().all]


def id_integrity_digest(number: str) -> str:
    """The ID number under the integrity key, for digests that must outlive blind-index
    rotations (a stored id_index changes when it is recomputed; this does not). Equal to the
    blind index of databases whose keys were never split."""
    return id_index_under(_integrity_key(), number)


@lru_cache(maxsize=8)
def _purpose_key(purpose: str) -> bytes:
    return hmac.new(_integrity_key(), purpose.encode(), hashlib.sha256).digest()


def keyed_digest(purpose: str, message: str) -> str:
    """HMAC-SHA256 of `message` under a key derived for `purpose` from the integrity key:
    a row checksum that nobody editing the database can forge."""
    return hmac.digest(_purpose_key(purpose), message.encode(), "sha256").hex()


KEY_SETTINGS = frozenset({"FIELD_ENCRYPTION_KEY", "FIELD_ENCRYPTION_KEYS_RETIRED", "BLIND_INDEX_KEY",
                          "BLIND_INDEX_KEYS_RETIRED", "INTEGRITY_KEY", "VAR_DIR"})


def keys_reset() -> None:
    """Forget the loaded keys (they are read once per process)."""
    for cached in (field_keyring, blind_index_keys, _integrity_key, _purpose_key):
        cached.cache_clear()


@receiver(setting_changed)
def _keys_changed(*, setting: str, **kwargs) -> None:
    if setting in KEY_SETTINGS:
        keys_reset()
