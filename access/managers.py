"""The fail-closed manager every model of a jurisdiction uses as `objects`.

`Model.objects.filter(...)`, `.all()`, `.get()` … raise `UnscopedQueryError`: code must say
whose jurisdiction applies, `Model.objects.visible_to(scope[, action])`, which asks the
access policy, or say loudly that none does, `Model.objects.dangerously_unscoped()`,
which a test allows only in a short list of places (access/tests/test_unscoped.py).

Rows reached from a row the caller already holds (`project.sessions.all()`, a prefetch)
go through Django's related managers, which are not refused: the parent was fetched
through the policy, and a child is in the parent's jurisdiction by construction.
Creating rows is not refused either; services ask the policy before they create.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from access.scope import Scope


class UnscopedQueryError(RuntimeError):
    """A scoped model was queried without saying whose jurisdiction applies."""


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, scope: Scope, action: str = "view") -> ScopedQuerySet:
        from access.policy import rule_for

        return self.filter(rule_for(self.model, action).q(scope))


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    def get_queryset(self):
        if getattr(self, "instance", None) is not None:
            return super().get_queryset()  # a related manager: reached from a row already held
        raise UnscopedQueryError(
            f"{self.model.__name__} is scoped: use .visible_to(scope) or .dangerously_unscoped()"
        )

    def visible_to(self, scope: Scope, action: str = "view") -> ScopedQuerySet:
        return super().get_queryset().visible_to(scope, action)

    def dangerously_unscoped(self) -> ScopedQuerySet:
        return super().get_queryset()

    def none(self) -> ScopedQuerySet:
        return super().get_queryset().none()

    def create(self, **kwargs):
        return super().get_queryset().create(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        return super().get_queryset().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, *args, **kwargs):
        # Rows the caller already holds, like Model.save(): authorised before they were loaded.
        return super().get_queryset().bulk_update(objs, *args, **kwargs)
