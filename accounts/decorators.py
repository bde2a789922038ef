"""View policies. Every page view declares one; the policy resolves the
viewer's Scope and passes it in, so a handler cannot forget it; a test walks every route
and fails on a view that declares no policy (core/tests/test_routes.py)."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from access.scope import Scope, scope_for_user
from accounts.models import ADMIN_ROLES, Role

DIVISION_ADMIN_ROLES = frozenset({Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN})


def division_of(user):
    """The division an administrator acts for (what they create is owned by it), or 403."""
    if user.division_id is None:
        raise PermissionDenied("账户未绑定区划")
    return user.division


def division_admin_scope(user, refusal: str = "只有县级及以上管理员可以执行该操作") -> Scope:
    """The API's gate for what only a county, city or province administrator does (the pages
    declare division_admin_required): the caller's scope, or 403 with `refusal`. The rows
    themselves are still checked by the access policy in the services."""
    if user.role not in DIVISION_ADMIN_ROLES:
        raise PermissionDenied(refusal)
    division_of(user)
    return scope_for_user(user)


def _policy(roles: frozenset | None):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if roles is not None and request.user.role not in roles:
                raise PermissionDenied("当前角色无权访问该页面")
            return view(request, scope_for_user(request.user), *args, **kwargs)

        wrapper.yanxiu_policy = roles or "any-signed-in"  # type: ignore[attr-defined]
        return wrapper

    return decorator


def signed_in(view):
    """Any signed-in account; the view handles only the caller's own data."""
    view.yanxiu_policy = "own-account"  # type: ignore[attr-defined]
    return view


def roles_required(roles):
    """A page for exactly these roles (an app's own set, e.g. institution staff and division
    administrators); other roles get 403 before the view runs."""
    return _policy(frozenset(roles))


scoped_view = _policy(None)
admin_required = _policy(ADMIN_ROLES)
division_admin_required = _policy(DIVISION_ADMIN_ROLES)
