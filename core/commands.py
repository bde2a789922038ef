"""What the project's management commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from access.scope import Scope, scope_for_user
from accounts.models import User
from org.models import Division


def command_actor_scope(username: str | None) -> tuple[User | None, Scope]:
    """`--as USERNAME`: that active account and its jurisdiction; without it, the operator
    acting for the whole province (no account)."""
    if not username:
        return None, Scope.division(Division.objects.get(level="province"))
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"用户不存在或已停用：{username}")
    return user, scope_for_user(user)
