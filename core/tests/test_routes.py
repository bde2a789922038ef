"""SECURITY 6 and 7, for every route.

6: deny by default — each view is either public on purpose or declares a
   policy, and an anonymous request to anything else is sent to log-in (pages)
   or refused with 401 (API).
7: row scope — over route × persona, an administrator of another county (or a
   school admin, or a teacher) never gets the other county's data: 403 or 404,
   and a refused write changes nothing.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC_VIEWS = {"login_view", "healthz", "root", "serve"}  # serve: static files in DEBUG
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _name(callback) -> str:
    return getattr(callback, "__name__", type(callback).__name__)


def _page_routes():
    return [(route, callback) for route, callback in _walk(get_resolver().url_patterns) if not route.startswith("api/")]


def test_every_page_view_is_public_on_purpose_or_declares_a_policy():
    missing = [
        route for route, callback in _page_routes()
        if _name(callback) not in PUBLIC_VIEWS and not hasattr(callback, "yanxiu_policy")
    ]
    assert missing == []


def test_every_public_view_is_marked_login_not_required():
    for route, callback in _page_routes():
        if _name(callback) in PUBLIC_VIEWS - {"serve"}:
            assert getattr(callback, "login_required", True) is False, route


def _concrete(route: str) -> str:
    route = route.replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:int:)?(\w+)>", "1", route)


@pytest.mark.django_db
def test_anonymous_requests_are_sent_to_log_in_or_refused(client):
    for route, callback in _walk(get_resolver().url_patterns):
        if _name(callback) in PUBLIC_VIEWS:
            continue
        url = _concrete(route)
        if route.startswith("api/"):
            if "openapi.json" in route or route.endswith("docs") or route == "api/v1/":
                continue  # the API description is public (it holds no data); the bare root is no operation
            response = client.get(url)
            if response.status_code == 405:  # a write-only operation: no GET at all
                response = client.post(url, data="{}", content_type="application/json")
            assert response.status_code == 401, url
            assert response.json()["code"] == "unauthenticated"
        else:
            response = client.get(url)
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


# Route × persona. {teacher} is the other county's teacher (通许县), {school} its school.
OTHER_COUNTY_READS = [
    "/teachers/{teacher}/",
    "/teachers/{teacher}/edit/",
    "/api/v1/teachers/{teacher}",
    "/api/v1/schools/{school}",
    "/api/v1/regions/410222",
]
OTHER_COUNTY_LISTS = [
    "/teachers/?school={school}",
    "/teachers/?division=410222",
    "/org/schools/?division=410222",
    "/api/v1/teachers?school={school}",
    "/api/v1/teachers?division=410222",
    "/api/v1/schools?division=410222",
    "/teachers/roster/export/?format=csv&division=410222",
]
OUTSIDERS = ["county_admin", "school_admin", "teacher", "other_city_admin"]


def _fill(url, province):
    return url.format(teacher=province.sibling_teacher.pk, school=province.sibling_school.code)


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig", "replace")
    return response.content.decode("utf-8-sig", "replace")


@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize("url", OTHER_COUNTY_READS)
def test_outsiders_get_403_or_404_for_another_countys_objects(persona, url, users, client_for, province):
    response = client_for(users[persona]).get(_fill(url, province))
    assert response.status_code in (403, 404)
    assert province.sibling_teacher.name not in _body(response)


@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize("url", OTHER_COUNTY_LISTS)
def test_outsiders_lists_never_hold_another_countys_rows(persona, url, users, client_for, province):
    response = client_for(users[persona]).get(_fill(url, province))
    assert response.status_code in (200, 400, 403, 404)  # 400: a filter outside the scope is refused
    body = _body(response)
    assert province.sibling_teacher.name not in body
    assert province.sibling_school.name not in body


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_searching_another_countys_teacher_finds_nothing(persona, users, client_for, province):
    for query in ("李四", province.sibling_teacher.id_number):
        response = client_for(users[persona]).get("/teachers/", {"q": query})
        if response.status_code == 200:
            table = response.content.decode().split('id="teachers"')[1]
            assert "没有符合条件的教师" in table and f"/teachers/{province.sibling_teacher.pk}/" not in table


@pytest.mark.parametrize("persona", ["sibling_admin", "city_admin", "province_admin"])
def test_insiders_see_the_county(persona, users, client_for, province):
    client = client_for(users[persona])
    assert client.get(f"/teachers/{province.sibling_teacher.pk}/").status_code == 200
    assert client.get(f"/api/v1/teachers/{province.sibling_teacher.pk}").json()["name"] == "李四"
    assert "李四" in client.get("/teachers/?division=410222").content.decode()


@pytest.mark.parametrize("persona", ["county_admin", "school_admin", "teacher", "other_city_admin"])
def test_refused_writes_change_nothing(persona, users, client_for, province):
    teacher = province.sibling_teacher
    client = client_for(users[persona])
    response = client.post(f"/teachers/{teacher.pk}/edit/", {
        "name": "篡改", "school_code": province.sibling_school.code, "stage": "primary", "main_subject": "math",
        "title": "senior", "hire_date": "2011-09-01", "status": "active", "honours": "",
    })
    assert response.status_code in (403, 404)
    response = client.post(f"/teachers/{teacher.pk}/reveal-id/")
    assert response.status_code in (403, 404)
    assert teacher.id_number not in _body(response)
    before = (teacher.name, teacher.title, teacher.hire_date)
    teacher.refresh_from_db()
    assert (teacher.name, teacher.title, teacher.hire_date) == before


def test_city_admin_reads_but_cannot_change_a_direct_county(users, client_for, province):
    city = client_for(users["city_admin"])
    teacher = province.direct_teacher
    assert city.get(f"/teachers/{teacher.pk}/").status_code == 200
    assert city.get(f"/teachers/{teacher.pk}/edit/").status_code == 403
    province_client = client_for(users["province_admin"])
    assert province_client.get(f"/teachers/{teacher.pk}/edit/").status_code == 200
    assert client_for(users["direct_admin"]).get(f"/teachers/{teacher.pk}/edit/").status_code == 200


@pytest.mark.parametrize("persona", ["province_admin", "city_admin", "county_admin", "school_admin", "teacher"])
def test_no_page_or_api_response_carries_a_full_id_number(persona, users, client_for, province):
    client = client_for(users[persona])
    own = province.teacher
    for url in ["/home/", "/teachers/", f"/teachers/{own.pk}/", "/api/v1/teachers", f"/api/v1/teachers/{own.pk}",
                "/teachers/roster/export/?format=csv"]:
        body = _body(client.get(url))
        assert not FULL_ID.search(body), (persona, url)


def test_api_keys_per_role_match_the_snapshot(users, client_for, province):
    """SECURITY 8/14: the fields each role receives are exactly these."""
    expected = {"id", "name", "id_number_masked", "sex", "birth_year", "stage", "subjects", "title", "hire_date",
                "is_new_teacher", "status", "school_code", "school_name", "division_path", "honours"}
    for persona in ["province_admin", "county_admin", "school_admin", "teacher"]:
        data = client_for(users[persona]).get(f"/api/v1/teachers/{province.teacher.pk}").json()
        assert set(data) == expected, persona
    staff_view = client_for(users["teacher"]).get(f"/api/v1/teachers/{province.sibling_teacher.pk}")
    assert staff_view.status_code == 404
