"""Each rule's two forms agree: the rows a viewer's list shows are exactly the rows a check
on each row allows — for every model with a policy, every action, every kind of viewer,
on a province holding a row of every kind (access/tests/world.py).

Also: the primitives on their own, on random trees (hypothesis), including the case that
made "scope in one place" leak before — a row check that ignored the school."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.policy import Action, can, policies, visible
from access.rules import FALSE, TRUE, InJurisdiction, Own, RoleIn, Where
from access.scope import Scope
from access.tests.world import build_world
from people.models import Teacher


@pytest.fixture
def world(province, users, make_user):
    return build_world(province, users, make_user)


def test_list_and_row_check_agree_for_every_model_action_and_viewer(world):
    checked, nonempty = 0, set()
    for model, rules in policies().items():
        rows = list(model._base_manager.all())
        assert rows, f"the world has no {model.__name__}"
        for action in rules:
            for persona, scope in world.personas.items():
                listed = set(visible(scope, model, action).values_list("pk", flat=True))
                allowed = {row.pk for row in rows if can(scope, action, row)}
                assert listed == allowed, (model.__name__, action, persona)
                checked += 1
                if listed:
                    nonempty.add((model, action))
    # The comparison is not vacuous: every rule lets someone do something.
    assert nonempty == {(model, action) for model, rules in policies().items() for action in rules}
    assert checked > 500


def test_what_each_kind_of_viewer_sees_of_projects(world):
    """The school rule holds for projects: a school administrator sees its own school's drafts,
    never the county's or another school's; institution staff see the drafts they implement."""
    names = {p.pk: key for key, p in world.projects.items()}

    def seen(persona, action=Action.VIEW):
        return {names[pk] for pk in visible(world.personas[persona], type(world.projects["qx_open"]), action)
                .values_list("pk", flat=True)}

    published = {key for key, p in world.projects.items() if p.state != "draft"}
    assert seen("school_admin") == published | {"qx_school_draft"}
    assert seen("school_admin", Action.RUN) == {"qx_school", "qx_school_draft"}
    assert seen("school_admin_2", Action.RUN) == {"qx_school_2"}
    assert seen("county_admin") == published | {"qx_draft", "qx_school_draft"}
    assert seen("staff") == published | {"city_draft"}
    assert seen("staff", Action.RUN) == {"qx_open", "city_draft"}
    assert seen("teacher") == published
    # The city reads its 省直管县's projects but does not run them.
    assert "lankao_open" not in seen("city_admin", Action.RUN) and "tx_draft" in seen("city_admin", Action.RUN)
    assert seen("nobody") == published


def test_decisions_belong_to_the_level_above(world, users):
    plans = {p.pk: key for key, p in world.plans.items()}
    model = type(world.plans["qx"])

    def deciding(persona):
        return {plans[pk] for pk in visible(world.personas[persona], model, Action.DECIDE).values_list("pk", flat=True)}

    assert deciding("county_admin") == {"qx_school"}
    assert deciding("city_admin") == {"qx", "tx"}  # not 兰考: a 省直管县 plans with the province
    assert deciding("province_admin") == {"lankao", "city", "luoyang"}  # never its own submission
    assert deciding("school_admin") == deciding("teacher") == deciding("staff") == set()


# --- the primitives on random trees ---------------------------------------------------------

class Row:
    def __init__(self, path, school_id, teacher_id=None, state="open"):
        self.division_path, self.school_id, self.teacher_id, self.state = path, school_id, teacher_id, state


CODES = ["410000.", "410000.410200.", "410000.410200.410221.", "410000.410200.410222.", "410000.410200.410225.",
         "410000.410300."]
scopes = st.builds(
    Scope,
    path=st.sampled_from([None, *CODES]),
    school_id=st.sampled_from([None, 1, 2]),
    teacher_id=st.sampled_from([None, 7]),
    read_only_paths=st.sampled_from([(), ("410000.410200.410225.",)]),
    role=st.sampled_from(["", "county_admin", "school_admin", "teacher"]),
)
rows = st.builds(Row, path=st.sampled_from(CODES), school_id=st.sampled_from([1, 2, 3]),
                 teacher_id=st.sampled_from([7, 8]), state=st.sampled_from(["open", "draft"]))
rules = st.sampled_from([
    InJurisdiction("division_path", "school_id"), InJurisdiction("division_path", "school_id", write=True),
    InJurisdiction("division_path"), Own("teacher_id"), RoleIn({"county_admin"}), Where(state="draft"),
    ~Where(state="draft") | InJurisdiction("division_path", "school_id"),
    RoleIn({"county_admin", "school_admin"}) & InJurisdiction("division_path", "school_id", write=True),
    ~(Own("teacher_id") | RoleIn({"teacher"})),
])


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=rules, scope=scopes, row_list=st.lists(rows, min_size=1, max_size=6))
def test_each_primitive_filter_selects_what_its_row_test_allows(rule, scope, row_list):
    """The Q form, evaluated by the database against a row's values (Q.check), and the Python
    form give the same answer for any scope, contradictory ones included."""
    for row in row_list:
        values = {"division_path": row.division_path, "school_id": row.school_id, "teacher_id": row.teacher_id,
                  "state": row.state}
        condition = rule._q(scope)  # True / False when the scope alone decides
        in_sql = condition if isinstance(condition, bool) else condition.check(values)
        assert in_sql == rule.test(scope, row), (rule, scope, values)


def test_true_and_false_are_real_conditions():
    assert (TRUE | InJurisdiction("division_path").q(Scope.nothing())) is not None
    assert not Teacher.objects.dangerously_unscoped().filter(FALSE).exists()


def test_the_school_rule_is_part_of_every_row_check(province, users):
    """Before: row checks took a path and ignored the school, so callers re-added it and some
    forgot. Now a school administrator's check on another school's row of the same county fails."""
    from org.models import School
    from people.tests.factories import TeacherFactory

    scope = Scope.school(province.school)
    other = TeacherFactory(school=School.objects.create(code="4102210003", name="杞县第三小学", division=province.county))
    assert not can(scope, Action.VIEW, other) and not can(scope, Action.CHANGE, other)
    assert can(scope, Action.CHANGE, province.teacher)
