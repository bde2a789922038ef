"""Account writes: creation, role/scope changes and API tokens, each audited."""

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from access.policy import Action as Can
from access.policy import fetch
from access.scope import Scope
from accounts.models import ApiToken, User
from audit.actions import Action
from audit.services import audit_record

TOKEN_PREFIX = "yx_"  # noqa: S105 - a public prefix, not a secret


def user_scope_path(user: User) -> str:
    for node, field in ((user.division, "path"), (user.school, "division_path"), (user.institution, "division_path")):
        if node is not None:
            return getattr(node, field)
    return ""


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str,
    actor: User | None = None,
    full_name: str = "",
    division=None,
    school=None,
    institution=None,
    teacher=None,
    validate: bool = True,
) -> User:
    user = User(username=username, role=role, division=division, school=school, institution=institution, teacher=teacher)
    user.first_name = full_name
    if password:
        if validate:
            validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        action=Action.ACCOUNT_CHANGE,
        actor=actor,
        scope_path=user_scope_path(user),
        object_type="user",
        object_id=user.pk,
        detail={"change": "create", "role": role},
    )
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: User | None, division=None, school=None, institution=None) -> User:
    """Change role or binding; the session hash covers both, so old sessions die."""
    before = {"role": user.role, "division": user.division_id, "school": user.school_id, "institution": user.institution_id}
    user.role, user.division, user.school, user.institution = role, division, school, institution
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        action=Action.ACCOUNT_CHANGE,
        actor=actor,
        scope_path=user_scope_path(user),
        object_type="user",
        object_id=user.pk,
        detail={"change": "role", "before": before, "after": {"role": role}},
    )
    return user


@transaction.atomic
def api_token_create(*, user: User, name: str, actor: User | None = None, days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the token row and the secret, which is never stored or shown again. Every token
    expires (API_TOKEN_DAYS, 90 by default): a forgotten integration does not hold access forever."""
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValueError(f"token lifetime must be 1..{settings.API_TOKEN_MAX_DAYS} days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name or "API", prefix=secret[:10], token_hash=ApiToken.hash_secret(secret),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit_record(
        action=Action.TOKEN_CREATE,
        actor=actor or user,
        scope_path=user_scope_path(user),
        object_type="api_token",
        object_id=token.pk,
        detail={"name": token.name, "prefix": token.prefix, "expires_at": token.expires_at.isoformat()},
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, scope: Scope, actor: User, token_id: int, ip: str | None = None) -> ApiToken:
    """Revoke one of the account's own tokens, audited; revoking again changes nothing."""
    token = fetch(scope, ApiToken, token_id, Can.REVOKE_TOKEN, lock=True)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action=Action.TOKEN_REVOKE, actor=actor, ip=ip, scope_path=user_scope_path(token.user),
                     object_type="api_token", object_id=token.pk, detail={"prefix": token.prefix})
    return token


def api_token_authenticate(secret: str) -> User | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    # Authentication comes before any scope exists: the token's hash is the only key.
    token = (
        ApiToken.objects.dangerously_unscoped().select_related("user")
        .filter(token_hash=ApiToken.hash_secret(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at is None or token.expires_at <= now:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        token.save(update_fields=["last_used_at"])
    return token.user
