"""Jurisdiction: the policy selects exactly the viewer's subtree.

- Hypothesis builds random division trees (materialised paths, some nodes
  省直管县) with a school and a teacher on every node, and checks that
  `scope_for_user` + `access.policy.visible` (directly and through the selectors)
  select exactly the subtree, and that writes stop at direct counties for a
  city administrator only.
- 省直管县 on the real fixture province: the city reads but cannot write.
- The fail-closed manager refuses unscoped queries.
"""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.managers import UnscopedQueryError
from access.policy import Action, can, visible
from access.scope import Scope, scope_for_user
from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_record
from org.models import Division, School
from org.selectors import division_list, school_list
from people.models import Teacher
from people.selectors import TeacherFilters, teacher_queryset
from people.tests.factories import TeacherFactory

# --- random trees -------------------------------------------------------------------


@st.composite
def trees(draw):
    """Up to 14 nodes under a root: each node's parent index, and whether it is 省直管县."""
    size = draw(st.integers(min_value=1, max_value=14))
    parents = [draw(st.integers(min_value=0, max_value=index)) for index in range(size)]
    direct = [draw(st.booleans()) for _ in range(size)]
    return parents, direct


TREE_NUMBERS = itertools.count()
USER_NUMBERS = itertools.count()


class Tree:
    """A division tree stored in the database, with a school and a teacher per node.
    Every example gets its own code range (examples share one transaction)."""

    def __init__(self, parents: list[int], direct: list[bool]):
        prefix = f"9{next(TREE_NUMBERS) % 1000:03d}"
        self.parents = parents
        self.nodes = [Division.objects.create(code=f"{prefix}00", name="根", level="province", path=f"{prefix}00.")]
        for index, (parent_index, is_direct) in enumerate(zip(parents, direct, strict=True), start=1):
            parent = self.nodes[parent_index]
            code = f"{prefix}{index:02d}"
            self.nodes.append(Division.objects.create(
                code=code, name=f"区{code}", level="county", parent=parent, path=f"{parent.path}{code}.",
                is_direct_county=is_direct,
            ))
        self.schools = [
            School.objects.create(code=f"S{node.code}", name=f"{node.code}学校", division=node)
            for node in self.nodes
        ]
        self.teachers = [TeacherFactory(school=school, name=f"教师{school.code}") for school in self.schools]
        self.codes = {node.code for node in self.nodes}

    def children(self, index: int) -> list[int]:
        return [child for child, parent in enumerate(self.parents, start=1) if parent == index]

    def subtree(self, index: int) -> set[int]:
        found, stack = set(), [index]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(self.children(current))
        return found

    def writable_for_city(self, index: int) -> set[int]:
        """The subtree minus every direct county in it (and below it)."""
        locked: set[int] = set()
        for node in self.subtree(index):
            if self.nodes[node].is_direct_county:
                locked |= self.subtree(node)
        return self.subtree(index) - locked

    # What a scope selects, restricted to this tree (the real province is loaded too).
    def selected_teachers(self, scope: Scope) -> set[int]:
        ids = {t.pk: i for i, t in enumerate(self.teachers)}
        rows = Teacher.objects.visible_to(scope).filter(pk__in=ids).values_list("pk", flat=True)
        return {ids[pk] for pk in rows}

    def selected_schools(self, scope: Scope) -> set[int]:
        ids = {s.pk: i for i, s in enumerate(self.schools)}
        rows = School.objects.visible_to(scope).filter(pk__in=ids).values_list("pk", flat=True)
        return {ids[pk] for pk in rows}

    def selected_divisions(self, scope: Scope) -> set[int]:
        index = {node.code: i for i, node in enumerate(self.nodes)}
        return {index[code] for code in division_list(scope=scope).values_list("code", flat=True) if code in index}


def _user(make_user, role: str, **binding):
    return make_user(f"tree-user-{next(USER_NUMBERS)}", role, **binding)


TREE_SETTINGS = settings(
    max_examples=30, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.django_db
@TREE_SETTINGS
@given(trees(), st.data())
def test_division_admins_select_exactly_their_subtree(make_user, shape, data):
    tree = Tree(*shape)
    index = data.draw(st.integers(min_value=0, max_value=len(tree.nodes) - 1), label="admin node")
    node = tree.nodes[index]
    expected = tree.subtree(index)
    for role in (Role.PROVINCE_ADMIN, Role.CITY_ADMIN, Role.COUNTY_ADMIN):
        scope = scope_for_user(_user(make_user, role, division=node))
        assert tree.selected_teachers(scope) == expected, role
        assert tree.selected_schools(scope) == expected, role
        assert tree.selected_divisions(scope) == expected, role
        assert {i for i, t in enumerate(tree.teachers) if can(scope, Action.VIEW, t)} == expected, role
        writable = tree.writable_for_city(index) if role == Role.CITY_ADMIN else expected
        assert {i for i, t in enumerate(tree.teachers) if can(scope, Action.CHANGE, t)} == writable, role
        ids = {t.pk: i for i, t in enumerate(tree.teachers)}
        changeable = visible(scope, Teacher, Action.CHANGE).filter(pk__in=ids).values_list("pk", flat=True)
        assert {ids[pk] for pk in changeable} == writable, role


@pytest.mark.django_db
@TREE_SETTINGS
@given(trees(), st.data())
def test_filters_and_other_tables_never_leave_the_subtree(make_user, shape, data):
    """A division filter narrows within the scope (never widens it), and the policy on
    another table keyed by path (the audit log) selects the same subtree."""
    tree = Tree(*shape)
    index = data.draw(st.integers(min_value=0, max_value=len(tree.nodes) - 1), label="admin node")
    other = data.draw(st.integers(min_value=0, max_value=len(tree.nodes) - 1), label="filter node")
    scope = scope_for_user(_user(make_user, Role.COUNTY_ADMIN, division=tree.nodes[index]))
    filtered = teacher_queryset(scope=scope, filters=TeacherFilters(division=tree.nodes[other].code))
    ids = {t.pk: i for i, t in enumerate(tree.teachers)}
    assert {ids[pk] for pk in filtered.values_list("pk", flat=True)} == tree.subtree(index) & tree.subtree(other)
    schools = school_list(scope=scope, division_code=tree.nodes[other].code)
    assert {s.code[1:] for s in schools} == {tree.nodes[i].code for i in tree.subtree(index) & tree.subtree(other)}

    for node in tree.nodes:
        audit_record(action="teacher.update", scope_path=node.path, object_type="division", object_id=node.code)
    events = visible(scope, AuditEvent).filter(object_type="division", object_id__in=tree.codes)
    assert set(events.values_list("object_id", flat=True)) == {tree.nodes[i].code for i in tree.subtree(index)}


@pytest.mark.django_db
@TREE_SETTINGS
@given(trees(), st.data())
def test_school_admins_and_teachers_select_only_their_own_rows(make_user, shape, data):
    tree = Tree(*shape)
    index = data.draw(st.integers(min_value=0, max_value=len(tree.nodes) - 1), label="node")
    school_scope = scope_for_user(_user(make_user, Role.SCHOOL_ADMIN, school=tree.schools[index]))
    assert tree.selected_teachers(school_scope) == {index}
    assert tree.selected_schools(school_scope) == {index}
    teacher_scope = scope_for_user(_user(make_user, Role.TEACHER, teacher=tree.teachers[index]))
    assert tree.selected_teachers(teacher_scope) == {index}
    assert tree.selected_schools(teacher_scope) == set()
    assert tree.selected_divisions(teacher_scope) == set()
    assert not any(can(teacher_scope, Action.CHANGE, teacher) for teacher in tree.teachers)
    assert can(teacher_scope, Action.VIEW, tree.teachers[index])


# --- accounts that see nothing ------------------------------------------------------------


def test_unbound_inactive_and_anonymous_accounts_see_nothing(users, make_user, province):
    from django.contrib.auth.models import AnonymousUser

    inactive = users["province_admin"]
    inactive.is_active = False
    inactive.save()
    unbound_teacher = make_user("teacher-unbound", Role.TEACHER)
    for account in (AnonymousUser(), inactive, unbound_teacher):
        scope = scope_for_user(account)
        assert scope.is_empty
        assert not Teacher.objects.visible_to(scope).exists()
        assert not School.objects.visible_to(scope).exists()
        assert not division_list(scope=scope).exists()
        assert not can(scope, Action.VIEW, province.teacher)


def test_a_scope_without_a_matching_key_selects_nothing(province):
    """A teacher scope on a table with no teacher key, or a school scope on one
    with no school key, fails closed rather than falling back to the path."""
    audit_record(action="logout", scope_path=province.county.path, object_type="probe")
    assert not visible(Scope(teacher_id=province.teacher.pk, role="teacher"), AuditEvent).filter(object_type="probe").exists()
    assert not visible(Scope.school(province.school), AuditEvent).filter(object_type="probe").exists()
    assert visible(Scope.division(province.county), AuditEvent).filter(object_type="probe").count() == 1


# --- 省直管县 (兰考县): the city reads, the province and the county write ----------------------


def test_city_scope_reads_direct_counties_but_cannot_write_them(users, province):
    city = scope_for_user(users["city_admin"])
    lankao, qixian = province.direct_teacher, province.teacher
    assert can(city, Action.VIEW, lankao) and not can(city, Action.CHANGE, lankao)
    assert can(city, Action.VIEW, qixian) and can(city, Action.CHANGE, qixian)
    assert province.direct.path in city.read_only_paths
    assert can(scope_for_user(users["province_admin"]), Action.CHANGE, lankao)
    assert can(scope_for_user(users["direct_admin"]), Action.CHANGE, lankao)
    assert not can(scope_for_user(users["county_admin"]), Action.VIEW, lankao)
    assert not can(scope_for_user(users["other_city_admin"]), Action.VIEW, lankao)
    assert province.direct_teacher.pk in set(Teacher.objects.visible_to(city).values_list("pk", flat=True))


def _edit_form(teacher, **changes) -> dict:
    form = {"name": teacher.name, "school_code": teacher.school.code, "stage": teacher.stage,
            "main_subject": "chinese", "title": "senior", "hire_date": teacher.hire_date.isoformat(),
            "status": teacher.status, "honours": ""}
    form.update(changes)
    return form


@pytest.mark.parametrize(("persona", "status"), [
    ("city_admin", 403), ("direct_admin", 200), ("province_admin", 200),
    ("county_admin", 404), ("other_city_admin", 404),
])
def test_direct_county_teacher_edit_page(persona, status, users, client_for, province):
    teacher = province.direct_teacher
    client = client_for(users[persona])
    assert client.get(f"/teachers/{teacher.pk}/edit/").status_code == status
    detail = client.get(f"/teachers/{teacher.pk}/")
    assert detail.status_code == (404 if status == 404 else 200)
    if status != 404:
        # The edit button is offered exactly when the edit page opens.
        assert (f"/teachers/{teacher.pk}/edit/" in detail.content.decode()) is (status == 200)


def test_city_admin_cannot_change_a_direct_county_teacher_by_post(users, client_for, province):
    teacher = province.direct_teacher
    before = (teacher.name, teacher.title, teacher.school_id, teacher.division_path)
    response = client_for(users["city_admin"]).post(f"/teachers/{teacher.pk}/edit/", _edit_form(teacher, name="篡改"))
    assert response.status_code == 403
    teacher.refresh_from_db()
    assert (teacher.name, teacher.title, teacher.school_id, teacher.division_path) == before
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="teacher.update").exists()


def test_city_admin_cannot_move_its_own_teacher_into_a_direct_county(users, client_for, province):
    teacher = province.teacher  # 杞县: writable by the city
    response = client_for(users["city_admin"]).post(
        f"/teachers/{teacher.pk}/edit/", _edit_form(teacher, school_code=province.direct_school.code)
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "学校不在本辖区" in response.content.decode()
    teacher.refresh_from_db()
    assert teacher.school_id == province.school.pk and teacher.division_path == province.county.path


def test_direct_county_and_province_admins_can_change_the_teacher(users, client_for, province):
    teacher = province.direct_teacher
    for persona, name in (("direct_admin", "王五甲"), ("province_admin", "王五乙")):
        response = client_for(users[persona]).post(f"/teachers/{teacher.pk}/edit/", _edit_form(teacher, name=name))
        assert response.status_code == 302, persona
        teacher.refresh_from_db()
        assert teacher.name == name


# --- the fail-closed manager --------------------------------------------------------------


@pytest.mark.parametrize("query", [
    lambda m: list(m.all()),
    lambda m: m.filter(name="张三").exists(),
    lambda m: m.count(),
    lambda m: m.get(pk=1),
    lambda m: m.exclude(pk=1).first(),
    lambda m: list(m.values_list("pk", flat=True)),
])
def test_unscoped_queries_on_scoped_models_raise(query, province):
    with pytest.raises(UnscopedQueryError):
        query(Teacher.objects)


def test_scoped_manager_alternatives(province):
    with pytest.raises(UnscopedQueryError):
        list(School.objects.all())
    with pytest.raises(UnscopedQueryError):
        School.objects.get_or_create(code="x")  # reads first, so it is refused too
    assert not Teacher.objects.visible_to(Scope.nothing()).exists()
    assert Teacher.objects.dangerously_unscoped().count() == 4
    assert set(Teacher.objects.visible_to(Scope.division(province.county)).values_list("name", flat=True)) == {"张三"}


def test_change_combines_path_school_and_role(users, province):
    from people.tests.factories import TeacherFactory

    county, school, teacher, city = (scope_for_user(users[name]) for name in ("county_admin", "school_admin", "teacher", "city_admin"))
    other_school = School.objects.create(code="4102210009", name="杞县第九小学", division=province.county)
    own, same_county = province.teacher, TeacherFactory(school=other_school)
    assert can(county, Action.CHANGE, own) and can(county, Action.CHANGE, same_county)
    assert can(school, Action.CHANGE, own) and not can(school, Action.CHANGE, same_county)
    assert not can(school, Action.VIEW, same_county)  # the school rule holds for reads too
    assert not can(teacher, Action.CHANGE, own) and can(teacher, Action.VIEW, own)
    assert not can(city, Action.CHANGE, province.direct_teacher)
    assert not can(county, Action.VIEW, province.sibling_teacher)
