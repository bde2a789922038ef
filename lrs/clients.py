"""Learning-record clients: a course provider's credentials for /xapi/.

Created by an administrator of the owning division (or the operator on the command line),
each with the activity IRI prefixes it writes about, read-only or read-write, and a rate
limit. The key is public, the secret is shown once and stored as a keyed digest (HMAC under
a key kept outside the database): a stolen copy of the table authenticates nobody. Every
creation and revocation is audited.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch
from access.scope import Scope
from accounts.throttle import rate_limited
from audit.actions import Action as Audit
from audit.services import audit_record
from lrs.http import XapiError
from lrs.models import LrsClient
from org.models import Division
from people.identity import keyed_digest

KEY_PREFIX = "lrs_"
LAST_SEEN_SECONDS = 60


def secret_digest(secret: str) -> str:
    return keyed_digest("lrs.client_secret", secret)


def prefixes_clean(prefixes: list[str] | tuple[str, ...]) -> list[str]:
    """IRI prefixes a client may write about: "*" (any), or absolute IRIs (scheme:…)."""
    clean = []
    for prefix in prefixes:
        prefix = (prefix or "").strip()
        if not prefix:
            continue
        if prefix != "*" and (":" not in prefix or len(prefix) > 500):
            raise ValidationError({"activity_prefixes": f"活动 IRI 前缀应为完整的 IRI（如 https://…）：{prefix}"})
        clean.append(prefix)
    if not clean:
        raise ValidationError({"activity_prefixes": "至少填写一个活动 IRI 前缀（* 表示不限）"})
    return sorted(set(clean))


@transaction.atomic
def client_create(*, scope: Scope, actor, name: str, division: Division, activity_prefixes: list[str],
                  may_write: bool = True, reads_all: bool = False, rate_per_minute: int = 600,
                  ip: str | None = None) -> tuple[LrsClient, str]:
    """A new client and its secret (shown once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "名称不能为空且不超过100字"})
    if not 1 <= rate_per_minute <= 100_000:
        raise ValidationError({"rate_per_minute": "每分钟请求上限应在 1 到 100000 之间"})
    client = LrsClient(name=name, division=division, division_path=division.path,
                       activity_prefixes=prefixes_clean(activity_prefixes), may_write=may_write, reads_all=reads_all,
                       rate_per_minute=rate_per_minute, created_by=actor if actor is not None and actor.pk else None)
    if not can(scope, Action.CHANGE, client):
        raise Forbidden("只能为本辖区创建接入方")
    secret = secrets.token_urlsafe(32)
    client.key = KEY_PREFIX + secrets.token_hex(10)
    client.secret_digest = secret_digest(secret)
    client.save(force_insert=True)
    audit_record(action=Audit.LRS_CLIENT_CREATE, actor=actor, ip=ip, scope_path=client.division_path,
                 object_type="lrs_client", object_id=client.pk,
                 detail={"name": name, "key": client.key, "prefixes": client.activity_prefixes, "may_write": may_write,
                         "reads_all": reads_all})
    return client, secret


@transaction.atomic
def client_revoke(*, scope: Scope, actor, client_id: int, ip: str | None = None) -> LrsClient:
    client = fetch(scope, LrsClient, client_id, Action.CHANGE, lock=True)
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit_record(action=Audit.LRS_CLIENT_REVOKE, actor=actor, ip=ip, scope_path=client.division_path,
                     object_type="lrs_client", object_id=client.pk, detail={"key": client.key})
    return client


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    key, separator, secret = decoded.partition(":")
    return (key, secret) if separator else None


UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="xAPI"'}


def client_authenticate(authorization: str, *, write: bool) -> LrsClient:
    """The client whose Basic credentials these are, or 401 (unknown, wrong, revoked), 403 (a
    read-only client writing), 429 (over its rate)."""
    credentials = _credentials(authorization)
    if credentials is None:
        raise XapiError(401, "需要 HTTP Basic 认证（接入方账号与密钥）", UNAUTHORIZED)
    key, secret = credentials
    # Authentication comes before any scope exists: the key is the only way in.
    client = LrsClient.objects.dangerously_unscoped().filter(key=key[:40]).first()
    if client is None or client.revoked_at is not None or not hmac.compare_digest(client.secret_digest,
                                                                                 secret_digest(secret)):
        raise XapiError(401, "接入方账号或密钥无效，或已停用", UNAUTHORIZED)
    if rate_limited("lrs-client", str(client.pk), limit=client.rate_per_minute, seconds=60):
        raise XapiError(429, "请求过于频繁，请稍后再试", {"Retry-After": "60"})
    if write and not client.may_write:
        raise XapiError(403, "该接入方只读，不能写入")
    now = timezone.now()
    if client.last_seen_at is None or (now - client.last_seen_at).total_seconds() > LAST_SEEN_SECONDS:
        client.last_seen_at = now
        client.save(update_fields=["last_seen_at"])
    return client
