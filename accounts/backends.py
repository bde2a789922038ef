"""Log-in by username or by mobile number (found through its blind index)."""

from django.contrib.auth.backends import ModelBackend

from accounts.mobile import looks_like_mobile, mobile_indexes, mobile_normalise
from accounts.models import User


def account_for_login(identifier: str) -> User | None:
    """The account a log-in names: by mobile number when it is one and an account holds it,
    else by username."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if looks_like_mobile(identifier):
        found = User.objects.filter(mobile_index__in=mobile_indexes(mobile_normalise(identifier))).first()
        if found is not None:
            return found
    return User.objects.filter(username=identifier).first()


def lock_key(identifier: str, account: User | None) -> str:
    """What the per-account failure counter is kept under: the account's username when the
    log-in named a known account (by username or mobile alike), else what was typed."""
    return account.username if account is not None else (identifier or "").strip()


def spend_hash_time(password: str) -> None:
    """Hash once, as checking a real password would: unknown accounts and locked ones answer
    in the same time as a wrong password."""
    User().set_password(password)


class UsernameOrMobileBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = account_for_login(username)
        if user is None:
            spend_hash_time(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
