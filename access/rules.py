"""Access rules, each written once and giving both of its forms:

- `rule.q(scope)`: a filter selecting the rows the rule allows (lists, exports, the API);
- `rule.test(scope, row)`: whether it allows one loaded row (a check before a write).

Rules are built from a few primitives that implement both forms side by side
(`InJurisdiction`, `OpenTo`, `Own`, `OwnAccount`, `OfInstitution`, `UnitOf`, `RoleIn`, `Where`)
and combined with `|`, `&` and `~`, which combine both forms alike; a property test
(access/tests/test_rules.py) holds the two forms equal on random trees, scopes and rows.

Field paths use Django's `__` notation ("project__division_path"); the row form follows
the same path through attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from access.scope import Scope, path_lookup

# Filters that select nothing and everything. An empty Q() is "no condition" to Django,
# and Q() | x is x, so TRUE must be a real always-true condition.
FALSE = Q(pk__in=[])
TRUE = ~Q(pk__in=[])


def value_at(row: Any, field_path: str) -> Any:
    """What `field_path` names on a loaded row (None once a step is missing)."""
    for part in field_path.split("__"):
        if row is None:
            return None
        row = getattr(row, part)
    return row


class Rule:
    def q(self, scope: Scope) -> Q:
        form = self._q(scope)
        return TRUE if form is True else FALSE if form is False else form

    def _q(self, scope: Scope) -> Q | bool:
        raise NotImplementedError

    def test(self, scope: Scope, row: Any) -> bool:
        raise NotImplementedError

    def __or__(self, other: Rule) -> Rule:
        return AnyOf(self, other)

    def __and__(self, other: Rule) -> Rule:
        return AllOf(self, other)

    def __invert__(self) -> Rule:
        return Not(self)


class AnyOf(Rule):
    def __init__(self, *rules: Rule):
        self.rules = rules

    def _q(self, scope):
        forms = [rule._q(scope) for rule in self.rules]
        if any(form is True for form in forms):
            return True
        conditions = [form for form in forms if form is not False]
        if not conditions:
            return False
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined | condition
        return combined

    def test(self, scope, row):
        return any(rule.test(scope, row) for rule in self.rules)


class AllOf(Rule):
    def __init__(self, *rules: Rule):
        self.rules = rules

    def _q(self, scope):
        forms = [rule._q(scope) for rule in self.rules]
        if any(form is False for form in forms):
            return False
        conditions = [form for form in forms if form is not True]
        if not conditions:
            return True
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined & condition
        return combined

    def test(self, scope, row):
        return all(rule.test(scope, row) for rule in self.rules)


class Not(Rule):
    def __init__(self, rule: Rule):
        self.rule = rule

    def _q(self, scope):
        form = self.rule._q(scope)
        return (not form) if isinstance(form, bool) else ~form

    def test(self, scope, row):
        return not self.rule.test(scope, row)


class InJurisdiction(Rule):
    """The row lies in the scope's jurisdiction: under its division path and, for a school
    administrator, of its school (a row with no school field is then outside). With
    `write=True`, read-only subtrees (a city's 省直管县) are left out. Teachers, institution
    staff and unbound accounts have no jurisdiction."""

    def __init__(self, path: str, school: str | None = None, *, write: bool = False):
        self.path, self.school, self.write = path, school, write

    def _q(self, scope):
        if scope.path is None or scope.teacher_id is not None:
            return False
        condition = Q(**path_lookup(self.path, scope.path, is_leaf=scope.is_leaf))
        if scope.school_id is not None:
            if self.school is None:
                return False
            condition &= Q(**{self.school: scope.school_id})
        if self.write:
            for locked in scope.read_only_paths:
                condition &= ~Q(**{f"{self.path}__startswith": locked})
        return condition

    def test(self, scope, row):
        if scope.path is None or scope.teacher_id is not None:
            return False
        path = value_at(row, self.path) or ""
        if not path.startswith(scope.path):
            return False
        if scope.school_id is not None and (self.school is None or value_at(row, self.school) != scope.school_id):
            return False
        return not (self.write and any(path.startswith(locked) for locked in scope.read_only_paths))


class UnitOf(Rule):
    """The row belongs to exactly the scope's own unit: its division (not one below it),
    or its school. Used for what only the unit itself does (draft its annual plan)."""

    def __init__(self, path: str, school: str):
        self.path, self.school = path, school

    def _q(self, scope):
        if scope.path is None or scope.teacher_id is not None:
            return False
        if scope.school_id is not None:
            return Q(**{self.path: scope.path, self.school: scope.school_id})
        return Q(**{self.path: scope.path, f"{self.school}__isnull": True})

    def test(self, scope, row):
        if scope.path is None or scope.teacher_id is not None or value_at(row, self.path) != scope.path:
            return False
        return value_at(row, self.school) == scope.school_id


class PathIs(Rule):
    """A path stored on the row equals the scope's own division path (school and teacher
    scopes excluded): e.g. the division that reviews a plan."""

    def __init__(self, path: str):
        self.path = path

    def _q(self, scope):
        if not scope.is_division:
            return False
        return Q(**{self.path: scope.path})

    def test(self, scope, row):
        return scope.is_division and value_at(row, self.path) == scope.path


def ancestor_paths(path: str) -> list[str]:
    """A division path and those above it: "410000.410200.410221." -> ["410000.",
    "410000.410200.", "410000.410200.410221."]."""
    parts = [part for part in path.split(".") if part]
    return [".".join(parts[: n + 1]) + "." for n in range(len(parts))]


class OpenTo(Rule):
    """The row's division is the viewer's own division or one above it (a province's course
    is open to every teacher of the province, a county's to that county's): judged from the
    division the viewer belongs to (`Scope.home_path`), whatever their role."""

    def __init__(self, path: str):
        self.path = path

    def _q(self, scope):
        if not scope.home_path:
            return False
        return Q(**{f"{self.path}__in": ancestor_paths(scope.home_path)})

    def test(self, scope, row):
        path = value_at(row, self.path) or ""
        return bool(scope.home_path) and path in ancestor_paths(scope.home_path or "")


class Own(Rule):
    """The row is the teacher's own (their record, enrolment, hours)."""

    def __init__(self, teacher: str):
        self.teacher = teacher

    def _q(self, scope):
        return Q(**{self.teacher: scope.teacher_id}) if scope.teacher_id is not None else False

    def test(self, scope, row):
        return scope.teacher_id is not None and value_at(row, self.teacher) == scope.teacher_id


class EnrolledIn(Rule):
    """The teacher is enrolled in the row's project (`project` leads from the row to it):
    a teacher sees the sessions of projects they have joined."""

    def __init__(self, project: str):
        self.project = project

    def _q(self, scope):
        if scope.teacher_id is None:
            return False
        return Q(**{f"{self.project}__enrolments__teacher_id": scope.teacher_id})

    def test(self, scope, row):
        project = value_at(row, self.project)
        return (scope.teacher_id is not None and project is not None
                and project.enrolments.filter(teacher_id=scope.teacher_id).exists())


class MemberOf(Rule):
    """The teacher is on the row's expert team (`members` leads from the row to the team's
    members); with `lead=True`, its lead."""

    def __init__(self, members: str, *, lead: bool = False):
        self.members, self.lead = members, lead

    def _q(self, scope):
        if scope.teacher_id is None:
            return False
        condition = {f"{self.members}__teacher_id": scope.teacher_id}
        if self.lead:
            condition[f"{self.members}__is_lead"] = True
        return Q(**condition)

    def test(self, scope, row):
        members = value_at(row, self.members)
        if scope.teacher_id is None or members is None:
            return False
        found = members.filter(teacher_id=scope.teacher_id)
        return (found.filter(is_lead=True) if self.lead else found).exists()


class NamedIn(Rule):
    """The signed-in account is named on the row through `relation` (rows with a `user_id`):
    an expert named to supervise a project."""

    def __init__(self, relation: str):
        self.relation = relation

    def _q(self, scope):
        return Q(**{f"{self.relation}__user_id": scope.user_id}) if scope.user_id is not None else False

    def test(self, scope, row):
        named = value_at(row, self.relation)
        return scope.user_id is not None and named is not None and named.filter(user_id=scope.user_id).exists()


class OwnAccount(Rule):
    """The row was made by, or belongs to, the signed-in account itself."""

    def __init__(self, user: str):
        self.user = user

    def _q(self, scope):
        return Q(**{self.user: scope.user_id}) if scope.user_id is not None else False

    def test(self, scope, row):
        return scope.user_id is not None and value_at(row, self.user) == scope.user_id


class OfInstitution(Rule):
    """The row names the staff member's institution (a project it implements)."""

    def __init__(self, institution: str):
        self.institution = institution

    def _q(self, scope):
        return Q(**{self.institution: scope.institution_id}) if scope.institution_id is not None else False

    def test(self, scope, row):
        return scope.institution_id is not None and value_at(row, self.institution) == scope.institution_id


class OfClient(Rule):
    """The row was written by the learning-record client acting (its own statements)."""

    def __init__(self, client: str):
        self.client = client

    def _q(self, scope):
        return Q(**{self.client: scope.client_id}) if scope.client_id is not None else False

    def test(self, scope, row):
        return scope.client_id is not None and value_at(row, self.client) == scope.client_id


class ClientReadsAll(Rule):
    """A learning-record client registered to read every statement (a reporting tool)."""

    def _q(self, scope):
        return scope.client_id is not None and scope.client_reads_all

    def test(self, scope, row):
        return scope.client_id is not None and scope.client_reads_all


class ClientCovers(Rule):
    """The row's activity lies under one of the client's registered IRI prefixes ("*": any);
    a row without an activity (an agent profile) only for a client registered for any."""

    def __init__(self, activity: str):
        self.activity = activity

    def _q(self, scope):
        if scope.client_id is None or not scope.client_prefixes:
            return False
        if "*" in scope.client_prefixes:
            return True
        condition = Q(**{f"{self.activity}__startswith": scope.client_prefixes[0]})
        for prefix in scope.client_prefixes[1:]:
            condition |= Q(**{f"{self.activity}__startswith": prefix})
        return condition & ~Q(**{self.activity: ""})

    def test(self, scope, row):
        if scope.client_id is None:
            return False
        if "*" in scope.client_prefixes:
            return True
        value = value_at(row, self.activity) or ""
        return bool(value) and any(value.startswith(prefix) for prefix in scope.client_prefixes)


class RoleIn(Rule):
    """The account has one of these roles (a condition on the viewer, not the row)."""

    def __init__(self, roles: Iterable[str]):
        self.roles = frozenset(str(role) for role in roles)

    def _q(self, scope):
        return scope.role in self.roles

    def test(self, scope, row):
        return scope.role in self.roles


class DirectCounty(Rule):
    """The viewer administers a 省直管县 (a condition on the viewer, not the row)."""

    def _q(self, scope):
        return scope.is_direct_county

    def test(self, scope, row):
        return scope.is_direct_county


class Where(Rule):
    """A condition on the row alone: `field`, `field__in`, `field__isnull`."""

    def __init__(self, **lookups: Any):
        for key in lookups:
            if key.rsplit("__", 1)[-1] in {"gt", "lt", "gte", "lte", "contains", "startswith"}:
                raise ValueError(f"Where supports exact, in and isnull lookups, not {key}")
        self.lookups = lookups

    def _q(self, scope):
        return Q(**self.lookups)

    def test(self, scope, row):
        for key, expected in self.lookups.items():
            field_path, _, lookup = key.rpartition("__")
            if lookup == "in":
                if value_at(row, field_path) not in expected:
                    return False
            elif lookup == "isnull":
                if (value_at(row, field_path) is None) != bool(expected):
                    return False
            elif value_at(row, key) != expected:
                return False
        return True


class Through(Rule):
    """Another model's rule, applied through a relation: `Through("project", RUN_PROJECT)`
    judges an enrolment by its project."""

    def __init__(self, relation: str, rule: Rule):
        self.relation, self.rule = relation, rule

    def _q(self, scope):
        form = self.rule._q(scope)
        if isinstance(form, bool):
            return form
        return _prefixed(form, self.relation)

    def test(self, scope, row):
        return self.rule.test(scope, value_at(row, self.relation))


def _prefixed(condition: Q, relation: str) -> Q:
    """The same Q with every lookup moved behind `relation__`."""
    prefixed = Q()
    prefixed.connector, prefixed.negated = condition.connector, condition.negated
    prefixed.children = [
        _prefixed(child, relation) if isinstance(child, Q) else (f"{relation}__{child[0]}", child[1])  # type: ignore[index]
        for child in condition.children
    ]
    return prefixed
