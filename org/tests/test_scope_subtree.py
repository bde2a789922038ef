"""SECURITY 7: on random division trees, a scope selects exactly its subtree."""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from org.models import Division, School
from org.scope import Scope, UnscopedQueryError
from people.models import Teacher


@st.composite
def trees(draw):
    """A random tree of up to 12 nodes under a root: parent index for each node."""
    size = draw(st.integers(min_value=1, max_value=12))
    return [draw(st.integers(min_value=0, max_value=index)) for index in range(size)]


EXAMPLES = itertools.count()


def _build(parents: list[int]) -> list[Division]:
    """A fresh tree per example (examples share one transaction, so nothing is deleted)."""
    prefix = f"9{next(EXAMPLES) % 100:02d}"
    root = Division.objects.create(code=f"{prefix}000", name="根", level="province", path=f"{prefix}000.")
    nodes = [root]
    for index, parent_index in enumerate(parents, start=1):
        parent = nodes[parent_index]
        code = f"{prefix}{index:03d}"
        nodes.append(Division.objects.create(code=code, name=f"区{index}", level="county", parent=parent, path=f"{parent.path}{code}."))
    for node in nodes:
        School.unscoped_objects.create(code=f"S{node.code}", name=f"{node.name}学校", division=node)
    return nodes


def _descendants(nodes: list[Division], parents: list[int], index: int) -> set[str]:
    children: dict[int, list[int]] = {}
    for child, parent in enumerate(parents, start=1):
        children.setdefault(parent, []).append(child)
    found, stack = set(), [index]
    while stack:
        current = stack.pop()
        found.add(nodes[current].code)
        stack.extend(children.get(current, []))
    return found


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(trees(), st.data())
def test_scope_selects_exactly_the_subtree(parents, data):
    nodes = _build(parents)
    index = data.draw(st.integers(min_value=0, max_value=len(nodes) - 1))
    scope = Scope.division(nodes[index])
    prefix = "S" + nodes[0].code[:3]
    selected = set(School.objects.in_scope(scope).filter(code__startswith=prefix).values_list("division__code", flat=True))
    assert selected == _descendants(nodes, parents, index)


@pytest.mark.django_db
def test_an_empty_scope_selects_nothing_and_unscoped_queries_raise(province):
    assert not Teacher.objects.in_scope(Scope.nothing()).exists()
    with pytest.raises(UnscopedQueryError):
        list(Teacher.objects.all())
    with pytest.raises(UnscopedQueryError):
        Teacher.objects.filter(name="张三").exists()
    assert Teacher.objects.dangerously_unscoped().count() == 4


def test_city_scope_reads_direct_counties_but_cannot_write_them(users):
    from org.scope import scope_for_user

    city = scope_for_user(users["city_admin"])
    lankao = "410000.410200.410225."
    assert city.can_read_path(lankao) and not city.can_write_path(lankao)
    assert city.can_write_path("410000.410200.410221.")
    assert scope_for_user(users["province_admin"]).can_write_path(lankao)
    assert scope_for_user(users["direct_admin"]).can_write_path(lankao)
    assert not scope_for_user(users["county_admin"]).can_read_path("410000.410200.410222.")
