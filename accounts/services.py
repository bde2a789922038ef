"""Account writes: creation, role/scope changes, API tokens, one's own password and mobile number,
an administrator's password reset; each audited."""

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.policy import Action as Can
from access.policy import fetch
from access.scope import Scope
from accounts import throttle
from accounts.mobile import mobile_encrypt, mobile_index, mobile_indexes, mobile_parse
from accounts.models import ApiToken, User
from accounts.throttle import Throttled
from audit.actions import Action
from audit.services import audit_record

TOKEN_PREFIX = "yx_"  # noqa: S105 - a public prefix, not a secret


def user_scope_path(user: User) -> str:
    for node, field in ((user.division, "path"), (user.school, "division_path"), (user.institution, "division_path"),
                        (user.teacher, "division_path")):
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
        # With the teacher record scope_for_user reads for a teacher's account: no query more.
        ApiToken.objects.dangerously_unscoped().select_related("user", "user__teacher")
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


# --- self-service: password, mobile; an administrator's reset ---------------------------------

TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
WRONG_CURRENT_MESSAGE = "当前密码不正确。"


def temporary_password() -> str:
    """A password to read out or write down once: four groups of four, no look-alike characters."""
    while True:
        groups = ["".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(4)]
        candidate = "-".join(groups)
        # Each group mixes cases and a digit; retry the rare draw a validator refuses.
        if any(c.isdigit() for c in candidate) and any(c.isupper() for c in candidate) and any(c.islower() for c in candidate):
            try:
                validate_password(candidate)
            except ValidationError:
                continue
            return candidate


def _validated(password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from error


@transaction.atomic
def user_password_change(*, scope: Scope, actor: User, current_password: str, new_password: str,
                         new_password_again: str, ip: str | None = None) -> User:
    """The signed-in account changes its own password (the current one first). The session hash
    covers the password, so every other session of the account ends; the caller keeps its own
    (update_session_auth_hash). Wrong current passwords are limited like log-in failures."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    if throttle.rate_limited("password-change", str(user.pk), limit=settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
                             seconds=settings.LOGIN_LOCKOUT_SECONDS, peek=True):
        raise Throttled("当前密码输错次数过多，请稍后再试。", retry_after=settings.LOGIN_LOCKOUT_SECONDS)
    if not user.check_password(current_password or ""):
        throttle.rate_count("password-change", str(user.pk), seconds=settings.LOGIN_LOCKOUT_SECONDS)
        raise ValidationError({"current_password": [WRONG_CURRENT_MESSAGE]})
    if new_password != new_password_again:
        raise ValidationError({"new_password_again": ["两次输入的新密码不一致。"]})
    if new_password == current_password:
        raise ValidationError({"new_password": ["新密码不能与当前密码相同。"]})
    _validated(new_password, user, "new_password")
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(action=Action.PASSWORD_CHANGE, actor=actor, ip=ip, scope_path=user_scope_path(user),
                 object_type="user", object_id=user.pk)
    return user


@transaction.atomic
def user_set_mobile(*, scope: Scope, actor: User, mobile: str, ip: str | None = None) -> User:
    """The account's own mobile number (empty clears it): unique among accounts, kept only
    encrypted with its blind index; the audit row never holds the number."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    if (mobile or "").strip():
        number = mobile_parse(mobile)
        index, candidates = mobile_index(number), mobile_indexes(number)
        if User.objects.filter(mobile_index__in=candidates).exclude(pk=user.pk).exists():
            raise ValidationError({"mobile": ["该手机号已被其他账户使用。"]})
        if user.mobile_index in candidates:  # the same number (perhaps under a retired key): nothing to do
            return user
        user.mobile_cipher, user.mobile_index = mobile_encrypt(number), index
    else:
        if not user.mobile_index:
            return user
        user.mobile_cipher, user.mobile_index = "", None
    try:
        with transaction.atomic():
            user.save(update_fields=["mobile_cipher", "mobile_index"])
    except IntegrityError as error:  # another account took it in the meantime
        raise ValidationError({"mobile": ["该手机号已被其他账户使用。"]}) from error
    audit_record(action=Action.MOBILE_CHANGE, actor=actor, ip=ip, scope_path=user_scope_path(user),
                 object_type="user", object_id=user.pk, detail={"set": bool(user.mobile_index)})
    return user


def _api_tokens_revoke_all(user: User) -> int:
    """A reset means the account's holder lost it or it is presumed in other hands: its API
    tokens end with its sessions (a password change by the holder keeps them)."""
    return ApiToken.objects.dangerously_unscoped().filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now())


@transaction.atomic
def user_password_reset(*, scope: Scope, actor: User, user_id: int, password: str = "",
                        ip: str | None = None) -> tuple[User, str]:
    """An administrator resets an account below them (access policy: RESET_PASSWORD) to a
    temporary password, generated unless typed, which the account must change at its next
    log-in. Every session of the account ends (the session hash covers the password) and its
    log-in lock is lifted. Returns the account and the password, shown once, never stored."""
    user = fetch(scope, User, user_id, Can.RESET_PASSWORD, lock=True)
    generated = not password
    if generated:
        password = temporary_password()
    else:
        _validated(password, user, "password")
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    throttle.account_reset(user.username)
    revoked = _api_tokens_revoke_all(user)
    audit_record(action=Action.PASSWORD_RESET, actor=actor, ip=ip, scope_path=user_scope_path(user),
                 object_type="user", object_id=user.pk,
                 detail={"generated": generated, "username": user.username, "tokens_revoked": revoked})
    return user, password


@transaction.atomic
def user_password_reset_by_operator(*, username: str) -> tuple[User, str]:
    """The command line's reset (`yanxiu password reset USER`), for accounts nobody above can
    reset (province administrators): an operator with shell access, audited without an actor."""
    user = User.objects.select_for_update().filter(username=username, is_active=True).first()
    if user is None:
        raise User.DoesNotExist(username)
    password = temporary_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    throttle.account_reset(user.username)
    revoked = _api_tokens_revoke_all(user)
    audit_record(action=Action.PASSWORD_RESET, actor=None, scope_path=user_scope_path(user), object_type="user",
                 object_id=user.pk, detail={"generated": True, "username": user.username, "by": "command",
                                            "tokens_revoked": revoked})
    return user, password
