import pytest
from django.core.management import CommandError, call_command

from org.models import Division, Institution, ResearchCommunity


@pytest.fixture
def orgs(province):
    own = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=province.county)
    other = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre", division=province.sibling)
    community = ResearchCommunity.objects.create(name="杞县城关乡镇教研共同体", division=province.county, chief_teacher=province.teacher)
    province.school.community = community
    province.school.save()
    ResearchCommunity.objects.create(name="通许县某乡镇教研共同体", division=province.sibling)
    return own, other


def test_institutions_and_communities_are_scoped(users, client_for, orgs):
    client = client_for(users["county_admin"])
    body = client.get("/org/institutions/").content.decode()
    assert "杞县教师发展中心" in body and "通许县教师发展中心" not in body
    body = client.get("/org/communities/").content.decode()
    assert "杞县城关乡镇教研共同体" in body and "通许县某乡镇教研共同体" not in body
    assert "张三" in body  # the chief teacher
    city_body = client_for(users["city_admin"]).get("/org/institutions/").content.decode()
    assert "杞县教师发展中心" in city_body and "通许县教师发展中心" in city_body


def test_school_admin_and_teacher_may_not_open_institution_pages(users, client_for, orgs):
    assert client_for(users["school_admin"]).get("/org/institutions/").status_code == 403
    assert client_for(users["teacher"]).get("/org/communities/").status_code == 403


@pytest.mark.django_db
def test_direct_county_list_is_editable_and_validated(capsys):
    call_command("org", "direct-counties")
    assert "410225 兰考县" in capsys.readouterr().out
    call_command("org", "direct-counties", "410181,410225")
    assert set(Division.objects.filter(is_direct_county=True).values_list("code", flat=True)) == {"410181", "410225"}
    with pytest.raises(CommandError, match="不是县级区划代码"):
        call_command("org", "direct-counties", "410200")
    assert Division.objects.filter(is_direct_county=True).count() == 2


@pytest.mark.django_db
def test_real_divisions_are_loaded():
    assert Division.objects.count() == 175
    assert Division.objects.filter(level="city").count() == 18  # 17 cities and 济源
    assert Division.objects.filter(level="county").count() == 156
    lankao = Division.objects.get(code="410225")
    assert lankao.parent.code == "410200" and lankao.is_direct_county
    assert lankao.planning_parent_code == "410000"
    assert Division.objects.get(code="410221").planning_parent_code == "410200"
