"""Training bases (培训基地): the registry (designate, edit; who may), school terms, and 跟岗 seats
counted against a base's capacity per term when projects book it; pages and API."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from access.errors import Forbidden, NotVisible
from catalog.models import Project
from catalog.services import project_create, project_open, project_seats_change, project_update
from institutions import bases
from institutions.models import TrainingBase
from institutions.tests.conftest import scope_of
from institutions.tests.helpers import accredited_institution

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 9, 1)


def designate(accr, province, who="county_admin", **values):
    user = accr[who]
    fields = {"name": "杞县第一小学跟岗基地", "kind": "school", "school": province.school, "stages": ["primary"],
              "subjects": [], "seats_per_term": 30, "designated_on": DAY, **values}
    return bases.base_create(scope=scope_of(user), actor=user, division=user.division, **fields)


def shadowing(accr, province, base, code="QX-GG-1", seats=20, starts_on=dt.date(2027, 3, 1),
              ends_on=dt.date(2027, 3, 12), mode="shadowing", **extra):
    admin = accr["county_admin"]
    return project_create(
        scope=scope_of(admin), actor=admin, code=code, title="杞县小学数学骨干教师跟岗研修", level="county",
        category="backbone", mode=mode, organiser=province.county, institution=accredited_institution(), base=base,
        starts_on=starts_on, ends_on=ends_on, seats=seats, hours=40, hour_category="centralised", **extra)


# --- school terms ----------------------------------------------------------------------------

def test_terms():
    assert bases.term_of(dt.date(2027, 3, 1)) == (2027, "spring")
    assert bases.term_of(dt.date(2027, 1, 10)) == (2026, "autumn")
    assert bases.term_label((2026, "autumn")) == "2026年秋季学期"
    assert bases.terms_between(dt.date(2027, 7, 20), dt.date(2027, 8, 5)) == [(2027, "spring"), (2027, "autumn")]


@given(st.dates(dt.date(2020, 1, 1), dt.date(2032, 12, 31)), st.integers(0, 800))
def test_every_day_of_a_span_falls_in_one_of_its_terms(start, days):
    end = start + dt.timedelta(days=days)
    terms = bases.terms_between(start, end)
    spans = [bases.term_bounds(term) for term in terms]
    assert len(terms) == len(set(terms)) and spans == sorted(spans)
    assert all(earlier[1] + dt.timedelta(days=1) == later[0] for earlier, later in zip(spans, spans[1:], strict=False))
    for day in (start, end, start + dt.timedelta(days=days // 2)):
        first, last = bases.term_bounds(bases.term_of(day))
        assert first <= day <= last and bases.term_of(day) in terms


# --- the registry ----------------------------------------------------------------------------

def test_a_county_designates_its_base_and_edits_it_audited(accr, province):
    from audit.models import AuditEvent

    base = designate(accr, province)
    assert base.division_path == province.county.path and base.kind == "school"
    bases.base_update(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], base_id=base.pk,
                      changes={"seats_per_term": 40, "subjects": ["math", "chinese"]})
    base.refresh_from_db()
    assert base.seats_per_term == 40 and base.subjects == ["chinese", "math"]
    assert list(AuditEvent.objects.dangerously_unscoped().filter(object_type="training_base").order_by("pk")
                .values_list("action", flat=True)) == ["training_base.create", "training_base.update"]


def test_who_may_designate_and_edit(accr, province):
    with pytest.raises(Forbidden):  # a county designates for its own division only
        bases.base_create(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], division=province.sibling,
                          name="越权基地", kind="school", school=province.sibling_school, seats_per_term=5,
                          designated_on=DAY, stages=[], subjects=[])
    base = designate(accr, province)
    for who, refusal in (("sibling_admin", Forbidden), ("school_admin", Forbidden), ("qx_staff", NotVisible)):
        with pytest.raises(refusal):
            bases.base_update(scope=scope_of(accr[who]), actor=accr[who], base_id=base.pk, changes={"name": "改名"})
    # The city above keeps its counties' bases too.
    bases.base_update(scope=scope_of(accr["city_admin"]), actor=accr["city_admin"], base_id=base.pk,
                      changes={"name": "杞县第一小学（市级认定）"})


@pytest.mark.parametrize(("values", "field"), [
    ({"name": " "}, "name"),
    ({"kind": "school", "school": None}, "school"),
    ({"kind": "university", "school": None}, "institution"),
    ({"stages": ["college"]}, "stages"),
    ({"seats_per_term": -1}, "seats_per_term"),
    ({"seats_per_term": 10_001}, "seats_per_term"),
    ({"designated_on": None}, "designated_on"),
])
def test_bad_input_is_refused_and_nothing_written(accr, province, values, field):
    with pytest.raises(ValidationError) as error:
        designate(accr, province, **values)
    assert field in error.value.message_dict
    assert not TrainingBase.objects.dangerously_unscoped().exists()


def test_a_duplicate_name_is_refused(accr, province):
    designate(accr, province)
    with pytest.raises(ValidationError, match="同名"):
        designate(accr, province)


# --- capacity --------------------------------------------------------------------------------

def test_shadowing_projects_hold_seats_per_term_and_the_last_ones_are_refused(accr, province):
    base = designate(accr, province)
    first = shadowing(accr, province, base, seats=20)
    with pytest.raises(ValidationError, match="2027年春季学期跟岗名额不足：共30人，已安排20人，本项目需15人"):
        shadowing(accr, province, base, code="QX-GG-2", seats=15)
    assert not Project.objects.dangerously_unscoped().filter(code="QX-GG-2").exists()
    # Another term has room; a project spanning two terms needs room in both.
    shadowing(accr, province, base, code="QX-GG-3", seats=25, starts_on=dt.date(2027, 9, 1), ends_on=dt.date(2027, 9, 9))
    with pytest.raises(ValidationError, match="2027年秋季学期"):
        shadowing(accr, province, base, code="QX-GG-4", seats=8, starts_on=dt.date(2027, 7, 1),
                  ends_on=dt.date(2027, 9, 3))
    shadowing(accr, province, base, code="QX-GG-5", seats=10)  # exactly fills the spring
    admin = accr["county_admin"]
    with pytest.raises(ValidationError, match="跟岗名额不足"):  # more seats on a full base
        project_seats_change(scope=scope_of(admin), project_id=first.pk, seats=21)
    with pytest.raises(ValidationError, match="跟岗名额不足"):
        project_update(scope=scope_of(admin), actor=admin, project_id=first.pk, changes={"seats": 22})
    assert Project.objects.dangerously_unscoped().get(pk=first.pk).seats == 20
    # Moving it to another term frees the spring and is judged there.
    with pytest.raises(ValidationError, match="2027年秋季学期跟岗名额不足：共30人，已安排25人，本项目需20人"):
        project_update(scope=scope_of(admin), actor=admin, project_id=first.pk,
                       changes={"starts_on": dt.date(2027, 10, 8), "ends_on": dt.date(2027, 10, 9)})
    project_update(scope=scope_of(admin), actor=admin, project_id=first.pk,
                   changes={"starts_on": dt.date(2028, 3, 8), "ends_on": dt.date(2028, 3, 9)})
    shadowing(accr, province, base, code="QX-GG-6", seats=20)  # the spring has room again


def test_what_a_base_is_for(accr, province):
    base = designate(accr, province)
    with pytest.raises(ValidationError, match="只有跟岗研修项目选择培训基地"):
        shadowing(accr, province, base, mode="centralised")
    with pytest.raises(ValidationError, match="不接收该学段"):
        shadowing(accr, province, base, audience={"stages": ["junior"]})
    bases.base_update(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], base_id=base.pk,
                      changes={"active": False})
    with pytest.raises(ValidationError, match="已停用"):
        shadowing(accr, province, base)
    draft = shadowing(accr, province, None, code="QX-GG-N")
    with pytest.raises(ValidationError, match="跟岗研修项目须先选择培训基地"):
        project_open(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], project_id=draft.pk)


def test_capacity_never_drops_below_what_a_term_holds(accr, province):
    base = designate(accr, province)
    shadowing(accr, province, base, seats=20, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 5))
    with pytest.raises(ValidationError, match="2026年秋季学期已安排20人"):
        bases.base_update(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], base_id=base.pk,
                          changes={"seats_per_term": 19})
    assert TrainingBase.objects.dangerously_unscoped().get(pk=base.pk).seats_per_term == 30


# --- pages and API ---------------------------------------------------------------------------

def test_pages(accr, province, client_for, django_assert_max_num_queries):
    base = designate(accr, province)
    shadowing(accr, province, base, seats=12, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 5))
    for n in range(5):
        designate(accr, province, name=f"杞县基地{n}")
    admin = client_for(accr["sibling_admin"])  # another county sees the province's registry
    with django_assert_max_num_queries(10):  # as many for six bases as for one (one counts them for the pager)
        page = admin.get("/institutions/bases/?stage=primary")
    body = page.content.decode()
    assert page.status_code == 200 and "杞县第一小学跟岗基地" in body and '<td class="num">12</td><td class="num">18</td>' in body
    detail = admin.get(f"/institutions/bases/{base.pk}/").content.decode()
    assert "2026年秋季学期" in detail and "QX-GG-1" in detail and "编辑基地" not in detail
    assert admin.get(f"/institutions/bases/{base.pk}/edit/").status_code == 404
    assert client_for(accr["teacher"]).get("/institutions/bases/").status_code == 403
    county = client_for(accr["county_admin"])
    made = county.post("/institutions/bases/new/", {
        "name": "杞县城关幼儿园", "kind": "kindergarten", "school_code": province.school.code, "stages": ["kindergarten"],
        "seats_per_term": "6", "designated_on": "2026-09-01", "active": "on"})
    assert made.status_code == 302
    bad = county.post("/institutions/bases/new/", {"name": "", "kind": "school", "seats_per_term": "x",
                                                   "designated_on": "2026-09-01"})
    assert bad.status_code == 400 and "基地名称不能为空" in bad.content.decode()


def test_api(accr, province, client_for):
    county = client_for(accr["county_admin"])
    made = county.post("/api/v1/training-bases", {
        "name": "杞县第一小学跟岗基地", "kind": "school", "school_code": province.school.code, "stages": ["primary"],
        "seats_per_term": 30, "designated_on": "2026-09-01"}, content_type="application/json")
    assert made.status_code == 201, made.content
    base_id = made.json()["id"]
    assert made.json()["level"] == "county" and made.json()["terms"][0]["left"] == 30
    patched = county.patch(f"/api/v1/training-bases/{base_id}", {"seats_per_term": 35}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["seats_per_term"] == 35
    refused = county.patch(f"/api/v1/training-bases/{base_id}", {"stages": ["college"]}, content_type="application/json")
    assert refused.status_code == 422 and "stages" in str(refused.json())
    outsider = client_for(accr["sibling_admin"])
    assert outsider.patch(f"/api/v1/training-bases/{base_id}", {"name": "改"},
                          content_type="application/json").status_code == 403
    listed = outsider.get("/api/v1/training-bases?stage=primary").json()
    assert [b["id"] for b in listed] == [base_id]
    assert client_for(accr["teacher"]).get("/api/v1/training-bases").status_code == 403
    # A 跟岗 project books the base through the projects API.
    county = client_for(accr["county_admin"])  # the one test client, signed in again
    project = county.post("/api/v1/projects", {
        "code": "API-GG", "title": "跟岗研修", "level": "county", "category": "backbone", "mode": "shadowing",
        "starts_on": "2027-03-01", "ends_on": "2027-03-05", "seats": 40, "hours": 30, "hour_category": "centralised",
        "institution_id": accredited_institution().pk, "base_id": base_id}, content_type="application/json")
    assert project.status_code == 422 and "跟岗名额不足" in str(project.json())
