"""The one place that decides which rows a viewer may see or change.

A `Scope` is resolved from the account once per request (page, API, command)
and every selector filters through `Scope.apply`. Scoped models use
`ScopedManager`, whose plain querysets raise: code must say `.in_scope(scope)`
or, loudly, `.dangerously_unscoped()`.

Rules (DESIGN §2.1, SECURITY 7):
- province / city / county admins: the subtree of their division;
- a city admin may read, not change, its 省直管县 (the province has them in full);
- a school admin: the rows of that school; a teacher or expert: their own record;
- institution staff and accounts without a binding: nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from accounts.models import User


class UnscopedQueryError(RuntimeError):
    """A scoped model was queried without saying whose jurisdiction applies."""


@dataclass(frozen=True)
class Scope:
    path: str | None = None  # division path prefix; None = no division subtree
    school_id: int | None = None
    teacher_id: int | None = None
    read_only_paths: tuple[str, ...] = field(default_factory=tuple)
    label: str = ""
    # A leaf node (a county) owns exactly one path, so `path = x` replaces
    # `path LIKE 'x%'` and the (division_path, id) index yields rows in id order.
    is_leaf: bool = False

    @classmethod
    def nothing(cls) -> Scope:
        return cls(label="无数据权限")

    @classmethod
    def division(cls, division, *, read_only_paths: tuple[str, ...] = ()) -> Scope:
        return cls(
            path=division.path, read_only_paths=read_only_paths, label=division.name,
            is_leaf=not type(division).objects.filter(parent=division).exists(),
        )

    @property
    def is_empty(self) -> bool:
        return self.path is None and self.teacher_id is None

    def apply(
        self,
        queryset: models.QuerySet,
        *,
        path_field: str | None = "division_path",
        school_field: str | None = None,
        teacher_field: str | None = None,
    ) -> models.QuerySet:
        """Filter any queryset to this scope, given where its row keeps each key."""
        if self.teacher_id is not None:
            if teacher_field is None:
                return queryset.none()
            return queryset.filter(**{teacher_field: self.teacher_id})
        if self.path is None or path_field is None:
            return queryset.none()
        queryset = queryset.filter(**path_lookup(path_field, self.path, is_leaf=self.is_leaf))
        if self.school_id is not None:
            if school_field is None:
                return queryset.none()
            queryset = queryset.filter(**{school_field: self.school_id})
        return queryset

    def can_read_path(self, path: str) -> bool:
        return self.path is not None and path.startswith(self.path)

    def can_write_path(self, path: str) -> bool:
        if not self.can_read_path(path):
            return False
        return not any(path.startswith(locked) for locked in self.read_only_paths)

    def can_write_row(self, *, path: str, school_id: int | None) -> bool:
        """May this scope change a row kept under `path` (and, for a school's rows, `school_id`)?
        Teachers and experts change nothing through a scope."""
        if self.teacher_id is not None or not self.can_write_path(path):
            return False
        return self.school_id is None or self.school_id == school_id


def path_lookup(path_field: str, path: str, *, is_leaf: bool) -> dict[str, str]:
    """The filter selecting a subtree: equality for a leaf, a prefix otherwise."""
    return {path_field: path} if is_leaf else {f"{path_field}__startswith": path}


class ScopedQuerySet(models.QuerySet):
    scope_fields: dict[str, str | None] = {"path_field": "division_path"}

    def in_scope(self, scope: Scope) -> ScopedQuerySet:
        scoped = scope.apply(self, **self.model.scope_fields)  # type: ignore[attr-defined]
        assert isinstance(scoped, ScopedQuerySet)
        return scoped


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    """Fail-closed manager: `.all()`, `.filter()` … raise without a scope."""

    def get_queryset(self):
        raise UnscopedQueryError(
            f"{self.model.__name__} is scoped: use .in_scope(scope) or .dangerously_unscoped()"
        )

    def in_scope(self, scope: Scope) -> ScopedQuerySet:
        return super().get_queryset().in_scope(scope)

    def dangerously_unscoped(self) -> ScopedQuerySet:
        return super().get_queryset()


def scope_for_user(user: User) -> Scope:
    from accounts.models import Role
    from org.models import Division

    if not user.is_authenticated or not user.is_active:
        return Scope.nothing()
    role = user.role
    division = user.division if user.division_id else None
    if role in (Role.PROVINCE_ADMIN, Role.COUNTY_ADMIN) and division is not None:
        return Scope.division(division)
    if role == Role.CITY_ADMIN and division is not None:
        direct_counties = Division.objects.filter(
            path__startswith=division.path, is_direct_county=True
        ).values_list("path", flat=True)
        return Scope.division(division, read_only_paths=tuple(direct_counties))
    school = user.school if user.school_id else None
    if role == Role.SCHOOL_ADMIN and school is not None:
        return Scope(path=school.division_path, school_id=school.pk, label=school.name, is_leaf=True)
    if role in (Role.TEACHER, Role.EXPERT) and user.teacher_id:
        return Scope(teacher_id=user.teacher_id, label="本人")
    return Scope.nothing()
