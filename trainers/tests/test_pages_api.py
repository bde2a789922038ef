"""The pool's pages and API: what each viewer gets, a trainer added, edited, promoted and booked
through the pages and through the API, Chinese refusals (400 / JSON 422) that write nothing, and
list pages whose query count does not grow with the rows."""

import datetime as dt

import pytest
from django.test import Client

from audit.models import AuditEvent
from trainers.models import Trainer, TrainerBooking, TrainerUnavailability
from trainers.tests.conftest import add

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def client(user) -> Client:
    """A client of its own for each account (the `client_for` fixture re-logs one client in)."""
    made = Client()
    made.force_login(user)
    return made


def test_who_gets_which_page(pool, client_for):
    u, t = pool.users, pool.trainers
    for who, status in (("province_admin", 200), ("city_admin", 200), ("county_admin", 200), ("school_admin", 403),
                        ("teacher", 403), ("master_user", 403), ("staff", 403)):
        assert client_for(u[who]).get("/trainers/").status_code == status, who
    for who, status in (("county_admin", 200), ("city_admin", 200), ("province_admin", 200), ("master_user", 200),
                        ("sibling_admin", 404), ("other_city_admin", 404), ("teacher", 404), ("school_admin", 403),
                        ("staff", 403)):
        assert client_for(u[who]).get(f"/trainers/{t['qx_master'].pk}/").status_code == status, who
    listing = _text(client_for(u["city_admin"]).get("/trainers/"))
    assert "周教研" in listing and "冯专家" in listing and "褚首席" not in listing and "陈专家" not in listing
    assert "周教研" not in _text(client_for(u["sibling_admin"]).get("/trainers/"))
    # a trainer who is a teacher finds their own record; a teacher who is not is told so
    assert client_for(u["master_user"]).get("/trainers/me/")["Location"] == f"/trainers/{t['qx_master'].pk}/"
    assert "尚未入选" in _text(client_for(u["teacher"]).get("/trainers/me/"))
    own = _text(client_for(u["master_user"]).get(f"/trainers/{t['qx_master'].pk}/"))
    assert "孙名师" in own and 'id="promote"' not in own and "编辑" not in own


def test_the_list_filters_and_pages_in_a_fixed_number_of_queries(pool, client_for, django_assert_max_num_queries):
    u = pool.users
    for n in range(30):
        add(u["county_admin"], name=f"批{n:02d}号", stages=["primary", "junior"][n % 2:n % 2 + 1])
    client = client_for(u["province_admin"])
    client.get("/trainers/")  # the session and the account, once
    with django_assert_max_num_queries(12):
        page = _text(client.get("/trainers/?stage=primary&level=county"))
    assert "批00号" in page and "批01号" not in page and "共 18 人" in page  # 15 + 周教研, 吴教研, 郑教研
    with django_assert_max_num_queries(12):
        second = _text(client.get("/trainers/?page=2"))
    assert '<strong aria-current="page">2</strong>' in second and "下一页" not in second


def test_add_edit_promote_and_unavailable_through_the_pages(pool, client_for, province):
    u = pool.users
    county = client_for(u["county_admin"])
    search = _text(county.get("/trainers/new/?teacher_q=张"))
    assert "张三" in search and "孙名师" not in search  # 孙名师 is in the pool already
    form = _text(county.get(f"/trainers/new/?teacher={province.teacher.pk}"))
    assert 'id="linked-teacher"' in form and "张三" in form
    response = county.post("/trainers/new/", {
        "division": province.county.pk, "teacher": province.teacher.pk, "source": "subject_leader",
        "topics": ["classroom", "moral_in_subject"], "grade": "2", "organisation": "杞县第一小学"})
    assert response.status_code == 302
    trainer = Trainer.objects.dangerously_unscoped().get(teacher=province.teacher)
    assert (trainer.name, trainer.grade, trainer.stages, trainer.subjects) == ("张三", 2, ["primary"], ["chinese"])
    detail = _text(county.get(f"/trainers/{trainer.pk}/"))
    assert "中级培训师" in detail and 'id="promote"' in detail and "学科育德能力" in detail
    county.post(f"/trainers/{trainer.pk}/edit/", {"source": "subject_leader", "stages": ["primary"],
                                                  "subjects": ["chinese", "math"], "topics": ["homework"], "active": "1"})
    trainer.refresh_from_db()
    assert trainer.subjects == ["chinese", "math"] and trainer.topics == ["homework"]
    county.post(f"/trainers/{trainer.pk}/promote/", {"grade": "4", "reason": "省级项目授课评价优秀"})
    trainer.refresh_from_db()
    assert trainer.grade == 4
    county.post(f"/trainers/{trainer.pk}/unavailable/", {"action": "add", "starts_on": "2027-04-01",
                                                         "ends_on": "2027-04-03", "reason": "出差"})
    period = TrainerUnavailability.objects.dangerously_unscoped().get(trainer=trainer)
    assert "2027-04-01 至 2027-04-03" in _text(county.get(f"/trainers/{trainer.pk}/"))
    county.post(f"/trainers/{trainer.pk}/unavailable/", {"action": "remove", "period": period.pk})
    assert not TrainerUnavailability.objects.dangerously_unscoped().filter(trainer=trainer).exists()
    # the city reads the county's pool: no promotion form, and a promotion is refused
    city = client_for(u["city_admin"])
    assert 'id="promote"' not in _text(city.get(f"/trainers/{pool.trainers['qx'].pk}/"))
    assert city.post(f"/trainers/{pool.trainers['qx'].pk}/promote/", {"grade": "2", "reason": "县级授课优秀"}).status_code == 403


def test_bad_input_on_the_pages_is_a_chinese_message_and_nothing_written(pool, client_for):
    u = pool.users
    county = client_for(u["county_admin"])
    trainers = Trainer.objects.dangerously_unscoped().count()
    response = county.post("/trainers/new/", {"name": "某名师", "source": "master_teacher", "stages": ["primary"],
                                              "topics": ["homework"]})
    assert response.status_code == 400 and "应关联教师名册" in _text(response)
    assert Trainer.objects.dangerously_unscoped().count() == trainers
    trainer = pool.trainers["qx"]
    response = county.post(f"/trainers/{trainer.pk}/unavailable/", {"action": "add", "starts_on": "2027-04-03",
                                                                    "ends_on": "2027-04-01"}, follow=True)
    assert "结束日期不能早于开始日期" in _text(response)
    response = county.post(f"/trainers/{trainer.pk}/unavailable/", {"action": "add", "starts_on": "2027-04-xx",
                                                                    "ends_on": "2027-04-01"}, follow=True)
    assert "日期格式" in _text(response)
    response = county.post(f"/trainers/{trainer.pk}/promote/", {"grade": "2", "reason": ""}, follow=True)
    assert "请填写晋升理由" in _text(response)
    response = county.post(f"/trainers/{trainer.pk}/edit/", {"source": "research_staff", "name": "周教研",
                                                             "stages": [], "topics": ["homework"], "active": "1"})
    assert response.status_code == 400 and "请至少选择一个学段" in _text(response)
    trainer.refresh_from_db()
    assert (trainer.grade, trainer.stages) == (1, ["primary"])
    assert not TrainerUnavailability.objects.dangerously_unscoped().exists()


def test_staffing_a_session_from_the_project_page(pool, client_for):
    u, t, s = pool.users, pool.trainers, pool.sessions
    county = client(u["county_admin"])
    manage = _text(county.get(f"/projects/{pool.projects['qx'].pk}/manage/"))
    assert f"/trainers/projects/{pool.projects['qx'].pk}/staffing/" in manage
    fragment = county.get(f"/trainers/projects/{pool.projects['qx'].pk}/staffing/", HTTP_HX_REQUEST="true")
    assert "<html" not in _text(fragment) and "安排培训专家" in _text(fragment) and "未安排" in _text(fragment)
    page = _text(county.get(f"/trainers/sessions/{s['qx1'].pk}/?topic=homework"))
    assert "孙名师" in page and "周教研" not in page  # filtered: 周教研 teaches 学科育德
    county.post(f"/trainers/sessions/{s['qx1'].pk}/", {"action": "book", "trainer": t["qx_master"].pk})
    assert TrainerBooking.objects.dangerously_unscoped().filter(trainer=t["qx_master"], session=s["qx1"]).exists()
    page = _text(county.get(f"/trainers/sessions/{s['qx1'].pk}/"))
    assert 'id="booked"' in page and "取消安排" in page
    # the same trainer, the same day, from the city's session: refused in Chinese
    city = client(u["city_admin"])
    response = city.post(f"/trainers/sessions/{s['kf1'].pk}/", {"action": "book", "trainer": t["qx_master"].pk},
                         follow=True)
    assert "已有安排：《杞县初中数学骨干研修》第1场" in _text(response)
    # those who run the project see who teaches (its implementing institution too, without booking)
    staff = _text(client(u["staff"]).get(f"/trainers/projects/{pool.projects['qx'].pk}/staffing/"))
    assert "孙名师" in staff and "安排培训专家" not in staff
    assert client(u["staff"]).get(f"/trainers/projects/{pool.projects['kf'].pk}/staffing/").status_code == 403
    assert client(u["staff"]).get(f"/trainers/sessions/{s['qx1'].pk}/").status_code == 403
    assert client(u["sibling_admin"]).get(f"/trainers/sessions/{s['qx1'].pk}/").status_code == 404
    county.post(f"/trainers/sessions/{s['qx1'].pk}/", {"action": "unbook", "trainer": t["qx_master"].pk})
    assert not TrainerBooking.objects.dangerously_unscoped().exists()


# --- the API ----------------------------------------------------------------------------------

def test_the_api_searches_in_scope(pool, client_for):
    u = pool.users
    body = client_for(u["city_admin"]).get("/api/v1/trainers?level=county&subject=math").json()
    assert set(body) == {"items", "count", "page", "pages"}
    assert [item["name"] for item in body["items"]] == ["孙名师", "吴教研"] and body["count"] == 2
    assert client_for(u["county_admin"]).get("/api/v1/trainers").json()["count"] == 2
    assert [i["name"] for i in client_for(u["master_user"]).get("/api/v1/trainers").json()["items"]] == ["孙名师"]
    refused = client_for(u["school_admin"]).get("/api/v1/trainers")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    bad = client_for(u["county_admin"]).get("/api/v1/trainers?available_on=2027-13-01")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"
    detail = client_for(u["county_admin"]).get(f"/api/v1/trainers/{pool.trainers['qx_master'].pk}").json()
    assert detail["development"] == {"completed": [], "hours_completed_projects": "0", "cycle": "2026-2030",
                                     "cycle_counted": "0", "cycle_required": "360.0"}
    assert detail["levels"][0]["to_grade"] == 1 and detail["rating"] is None
    missing = client_for(u["sibling_admin"]).get(f"/api/v1/trainers/{pool.trainers['qx_master'].pk}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_the_whole_life_through_the_api(pool, client_for, province):
    u, s = pool.users, pool.sessions
    county = client_for(u["county_admin"])
    made = county.post("/api/v1/trainers", {"name": "钱教研", "source": "research_staff", "stages": ["junior"],
                                            "subjects": ["math"], "topics": ["homework"]},
                       content_type="application/json")
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    assert made.json()["division"] == "410221" and made.json()["grade"] == 1
    patched = county.patch(f"/api/v1/trainers/{pk}", {"topics": ["homework", "experiment"]},
                           content_type="application/json")
    assert patched.status_code == 200 and patched.json()["topics"] == ["experiment", "homework"]
    assert patched.json()["subjects"] == ["math"]  # what was not sent stays
    promoted = county.post(f"/api/v1/trainers/{pk}/promote", {"grade": 3, "reason": "县级骨干研修授课优秀"},
                           content_type="application/json")
    assert promoted.status_code == 200 and [c["to_grade"] for c in promoted.json()["levels"]] == [1, 3]
    booked = county.post(f"/api/v1/trainers/{pk}/bookings", {"session_id": s["qx1"].pk},
                         content_type="application/json")
    assert booked.status_code == 201 and booked.json()["held_on"] == "2027-03-05"
    period = county.post(f"/api/v1/trainers/{pk}/unavailable", {"starts_on": "2027-03-20", "ends_on": "2027-03-22"},
                         content_type="application/json")
    assert period.status_code == 201
    detail = county.get(f"/api/v1/trainers/{pk}").json()
    assert detail["sessions_upcoming"] == 1 and detail["unavailable"][0]["ends_on"] == "2027-03-22"
    assert county.delete(f"/api/v1/trainers/{pk}/unavailable/{period.json()['id']}").status_code == 204
    assert county.delete(f"/api/v1/trainers/{pk}/bookings/{s['qx1'].pk}").status_code == 204
    assert set(AuditEvent.objects.dangerously_unscoped().filter(object_id=str(pk)).values_list("action", flat=True)) \
        == {"trainer.create", "trainer.update", "trainer.promote", "trainer.book", "trainer.unavailable",
            "trainer.available", "trainer.unbook"}


def test_api_refusals_are_json_and_write_nothing(pool, client_for):
    u, t, s = pool.users, pool.trainers, pool.sessions
    county = client(u["county_admin"])
    counts = (Trainer.objects.dangerously_unscoped().count(), TrainerBooking.objects.dangerously_unscoped().count())
    bad = county.post("/api/v1/trainers", {"name": "某", "source": "master_teacher", "stages": ["primary"]},
                      content_type="application/json")
    assert bad.status_code == 422 and "应关联教师名册" in str(bad.json()["errors"]["teacher"])
    county.post(f"/api/v1/trainers/{t['qx'].pk}/bookings", {"session_id": s["qx1"].pk}, content_type="application/json")
    city = client(u["city_admin"])
    double = city.post(f"/api/v1/trainers/{t['qx'].pk}/bookings", {"session_id": s["kf1"].pk},
                       content_type="application/json")
    assert double.status_code == 422 and double.json()["errors"]["trainer"] == [
        "该培训专家（周教研）在 2027-03-05 已有安排：《杞县初中数学骨干研修》第1场"]
    order = county.post(f"/api/v1/trainers/{t['qx'].pk}/unavailable", {"starts_on": "2027-03-22", "ends_on": "2027-03-20"},
                        content_type="application/json")
    assert order.status_code == 422 and order.json()["errors"]["ends_on"] == ["结束日期不能早于开始日期"]
    not_owner = city.post(f"/api/v1/trainers/{t['qx'].pk}/promote", {"grade": 2, "reason": "县级授课优秀"},
                          content_type="application/json")
    assert not_owner.status_code == 403 and not_owner.json()["code"] == "forbidden"
    unseen = county.post(f"/api/v1/trainers/{t['kf'].pk}/bookings", {"session_id": s["qx2"].pk},
                         content_type="application/json")
    assert unseen.status_code == 404
    assert (Trainer.objects.dangerously_unscoped().count(), TrainerBooking.objects.dangerously_unscoped().count()) \
        == (counts[0], counts[1] + 1)
    assert not TrainerUnavailability.objects.dangerously_unscoped().exists()
    assert dt.date(2027, 3, 5) in TrainerBooking.objects.dangerously_unscoped().values_list("held_on", flat=True)
    # ids no database could hold are not found, not a server error
    huge = 10**30
    for response in (county.delete(f"/api/v1/trainers/{t['qx'].pk}/bookings/{huge}"),
                     county.delete(f"/api/v1/trainers/{huge}/bookings/{s['qx1'].pk}"),
                     county.delete(f"/api/v1/trainers/{t['qx'].pk}/unavailable/{huge}"),
                     county.get(f"/api/v1/trainers/{huge}"), county.patch(f"/api/v1/trainers/{huge}", {},
                                                                          content_type="application/json")):
        assert response.status_code == 404, response.content
