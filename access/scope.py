"""Whose jurisdiction applies: a `Scope` is resolved from the account once per request
(page, API, command) and handed to every selector and service.

- province / city / county administrators: the subtree of their division;
- a city administrator reads, but does not change, its 省直管县 (read_only_paths);
- a school administrator: the rows of that school;
- a teacher or expert: their own record;
- institution staff: the projects their institution implements;
- accounts without a binding: nothing.

The scope only says *where* the viewer stands. What they may do to which row is
decided by `access.policy`, whose rules read these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User

ROLE_OF_LEVEL = {"province": "province_admin", "city": "city_admin", "county": "county_admin"}


@dataclass(frozen=True)
class Scope:
    path: str | None = None  # division path prefix; None = no division subtree
    school_id: int | None = None
    teacher_id: int | None = None
    institution_id: int | None = None
    read_only_paths: tuple[str, ...] = field(default_factory=tuple)
    role: str = ""
    user_id: int | None = None
    label: str = ""
    # A leaf node (a county) owns exactly one path, so `path = x` replaces
    # `path LIKE 'x%'` and the (division_path, id) index yields rows in id order.
    is_leaf: bool = False
    # A learning-record client (a course provider's credentials at /xapi/): what it may
    # touch is its own statements and the activities under its registered IRI prefixes.
    client_id: int | None = None
    client_prefixes: tuple[str, ...] = field(default_factory=tuple)
    client_reads_all: bool = False
    # The division the viewer belongs to (an administrator's, a school's, a teacher's county):
    # what is open to everyone of a division and below (published courses) is judged from it.
    home_path: str | None = None
    # The viewer administers a 省直管县: it reports to the province, not to the city it lies in.
    is_direct_county: bool = False

    @classmethod
    def nothing(cls) -> Scope:
        return cls(label="无数据权限")

    @classmethod
    def division(cls, division, *, role: str = "", user_id: int | None = None) -> Scope:
        """The scope of an administrator of `division` (by default of the role its level has):
        its subtree, a city's 省直管县 read-only. Commands run as the province (the operator) too."""
        from org.models import Division

        role = role or ROLE_OF_LEVEL.get(division.level, "")
        read_only: tuple[str, ...] = ()
        if role == "city_admin":
            read_only = tuple(Division.objects.filter(path__startswith=division.path, is_direct_county=True)
                              .values_list("path", flat=True))
        return cls(
            path=division.path, read_only_paths=read_only, label=division.name, user_id=user_id, role=role,
            is_leaf=not Division.objects.filter(parent=division).exists(), home_path=division.path,
            is_direct_county=bool(division.is_direct_county),
        )

    @classmethod
    def school(cls, school, *, user_id: int | None = None) -> Scope:
        return cls(path=school.division_path, school_id=school.pk, label=school.name, is_leaf=True,
                   role="school_admin", user_id=user_id, home_path=school.division_path)

    @classmethod
    def for_teacher(cls, teacher, *, role: str = "teacher", user_id: int | None = None) -> Scope:
        """What a teacher (or an expert, who is a teacher too) may see: their own rows, and what is
        open to everyone of their division."""
        return cls(teacher_id=teacher.pk, role=role, user_id=user_id, label="本人", home_path=teacher.division_path)

    @classmethod
    def for_client(cls, client) -> Scope:
        return cls(client_id=client.pk, client_prefixes=tuple(client.activity_prefixes or ()),
                   client_reads_all=client.reads_all, role="lrs_client", label=client.name)

    @property
    def is_empty(self) -> bool:
        return self.path is None and self.teacher_id is None and self.institution_id is None and self.client_id is None

    @property
    def is_division(self) -> bool:
        """A division administrator's scope (not a school's, a teacher's or an institution's)."""
        return self.path is not None and self.school_id is None and self.teacher_id is None


def path_lookup(path_field: str, path: str, *, is_leaf: bool) -> dict[str, str]:
    """The filter selecting a subtree: equality for a leaf, a prefix otherwise."""
    return {path_field: path} if is_leaf else {f"{path_field}__startswith": path}


def scope_for_user(user: User) -> Scope:
    from accounts.models import Role

    if not user.is_authenticated or not user.is_active:
        return Scope.nothing()
    role = user.role
    if role in (Role.PROVINCE_ADMIN, Role.CITY_ADMIN, Role.COUNTY_ADMIN) and user.division_id:
        # The account's role decides, not the division's level.
        return Scope.division(user.division, role=role, user_id=user.pk)
    if role == Role.SCHOOL_ADMIN and user.school_id:
        return Scope.school(user.school, user_id=user.pk)
    if role in (Role.TEACHER, Role.EXPERT) and user.teacher:
        return Scope.for_teacher(user.teacher, role=role, user_id=user.pk)
    if role == Role.INSTITUTION_STAFF and user.institution_id:
        return Scope(institution_id=user.institution_id, role=role, user_id=user.pk,
                     label=user.institution.name if user.institution else "")
    return Scope(role=role, user_id=user.pk, label="无数据权限")
