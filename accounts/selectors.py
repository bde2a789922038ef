"""Account reads: the accounts an administrator manages (access policy: User VIEW)."""

from django.db.models import Q, QuerySet

from access.policy import visible
from access.scope import Scope
from accounts.models import User


def account_list(*, scope: Scope, q: str = "") -> QuerySet[User]:
    """Accounts below the viewer in their jurisdiction, by username; `q` matches the username,
    the display name or the teacher's name. Units are joined in, so a page costs one query."""
    accounts = visible(scope, User).select_related("division", "school", "institution", "teacher__school")
    q = q.strip()
    if q:
        accounts = accounts.filter(Q(username__icontains=q) | Q(first_name__icontains=q) | Q(teacher__name__icontains=q))
    return accounts.order_by("username", "pk")
