"""Who sees and curates which courses, on the world of access/tests (a course owned by every
level): a county's courses are its own and those above it; published courses are open to the
owner division and below; outsiders at every level see nothing of another county's."""

import pytest

from access.policy import Action, visible
from access.tests.world import build_world
from learning.models import Course


@pytest.fixture
def world(province, users, make_user):
    return build_world(province, users, make_user)


def _codes(world, persona, action=Action.VIEW):
    return set(visible(world.personas[persona], Course, action).values_list("code", flat=True))


def test_what_each_viewer_sees_and_curates(world):
    above_qx = {"KF-PUB", "HN-PUB"}
    assert _codes(world, "teacher") == {"QX-PUB"} | above_qx  # 杞县's teacher: no draft, no 通许县
    assert _codes(world, "expert") == {"QX-PUB"} | above_qx
    assert _codes(world, "school_admin") == {"QX-PUB"} | above_qx
    assert _codes(world, "county_admin") == {"QX-DRAFT", "QX-PUB"} | above_qx
    assert _codes(world, "sibling_teacher_user") == {"TX-PUB"} | above_qx
    assert _codes(world, "sibling_admin") == {"TX-PUB"} | above_qx  # never 杞县's draft or published course
    assert _codes(world, "direct_admin") == {"LK-PUB"} | above_qx  # 兰考县 lies under 开封市's path
    assert _codes(world, "other_city_admin") == {"HN-PUB"}
    assert _codes(world, "city_admin") == {"QX-DRAFT", "QX-PUB", "TX-PUB", "LK-PUB", "KF-PUB", "HN-PUB"}
    assert _codes(world, "province_admin") == {c.code for c in Course.objects.dangerously_unscoped().all()}
    for persona in ("staff", "unbound", "nobody", "lrs_qx"):
        assert _codes(world, persona) == set(), persona

    assert _codes(world, "county_admin", Action.CHANGE) == {"QX-DRAFT", "QX-PUB"}
    assert _codes(world, "city_admin", Action.CHANGE) == {"QX-DRAFT", "QX-PUB", "TX-PUB", "KF-PUB"}  # 兰考县: reads only
    assert _codes(world, "sibling_admin", Action.CHANGE) == {"TX-PUB"}
    for persona in ("teacher", "school_admin", "staff", "other_city_admin"):
        assert _codes(world, persona, Action.CHANGE) == set(), persona
