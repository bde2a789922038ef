"""The 过程评价 page, 我的视导, the rubric pages and the API: what each persona sees and may add,
structured JSON refusals, and query counts that do not grow with the rows."""

import datetime as dt
from decimal import Decimal

import pytest

from evaluation import supervision
from evaluation.models import OutcomeReview, Rubric, StakeholderRating, SupervisionVisit, Supervisor
from evaluation.tests import supervision_world
from evaluation.tests.supervision_world import SCORES, TODAY

pytestmark = pytest.mark.django_db
_today, sw = supervision_world._today, supervision_world.sw  # the fixtures these tests use


def _records(sw, n=1):
    """n visits and reviews of the expert on 杞县's project, the school's rating, and a visit of
    通许县's administrator on 通许县's project."""
    supervision.supervisor_add(scope=sw.scope("county_admin"), actor=None, project_id=sw.projects["qx"].pk,
                               username="expert-1")
    for number in range(n):
        supervision.visit_record(scope=sw.scope("expert"), actor=None, project_id=sw.projects["qx"].pk,
                                 rubric_id=sw.rubrics["visit"].pk, scores=SCORES, visited_on=TODAY,
                                 note=f"杞县视导意见{number}")
        supervision.outcome_review_record(scope=sw.scope("expert"), actor=None, project_id=sw.projects["qx"].pk,
                                          rubric_id=sw.rubrics["outcome"].pk, scores={"design": 10, "delivery": 20},
                                          title=f"杞县教学设计{number}", kind="lesson_plan")
    supervision.stakeholder_rate(scope=sw.scope("school_admin"), actor=None, project_id=sw.projects["qx"].pk,
                                 rubric_id=sw.rubrics["stakeholder"].pk, scores=SCORES, note="杞县第一小学意见")
    supervision.visit_record(scope=sw.scope("sibling_admin"), actor=None, project_id=sw.projects["tx"].pk,
                             rubric_id=sw.rubrics["tx_visit"].pk, scores=SCORES, visited_on=TODAY, note="通许县视导意见")


def _page(sw, client_for, who, project="qx"):
    return client_for(sw.people[who]).get(f"/evaluation/supervision/projects/{sw.projects[project].pk}/")


def test_the_organiser_sees_everything_with_the_means_and_the_forms(sw, client_for):
    _records(sw)
    response = _page(sw, client_for, "county_admin")
    body = response.content.decode()
    assert response.status_code == 200
    assert "杞县视导意见0" in body and "杞县教学设计0" in body and "杞县第一小学意见" in body
    assert "76.7" in body and "100.0" in body  # the visit mean, the outcome mean
    assert "通许县视导意见" not in body
    assert 'id="supervisor-add"' in body and 'id="visit-form-' in body  # names supervisors, may record
    assert "钱七" in body  # the named expert


def test_the_expert_sees_their_own_records_and_may_record(sw, client_for):
    _records(sw)
    body = _page(sw, client_for, "expert").content.decode()
    assert "杞县视导意见0" in body and 'id="visit-form-' in body and 'id="outcome-form-' in body
    assert "杞县第一小学意见" not in body  # not the school's rating
    assert 'id="supervisor-add"' not in body and 'id="means"' not in body
    mine = client_for(sw.people["expert"]).get("/evaluation/supervision/mine/")
    assert mine.status_code == 200 and "项目QX-O" in mine.content.decode()


def test_the_implementing_institution_reads_but_has_no_forms(sw, client_for):
    _records(sw)
    body = _page(sw, client_for, "staff").content.decode()
    assert "杞县视导意见0" in body and "杞县第一小学意见" in body
    assert "<form" not in body.split("<main", 1)[-1] or 'id="visit-form-' not in body
    assert 'id="visit-form-' not in body and 'id="supervisor-add"' not in body and 'stakeholder-form' not in body


def test_a_stakeholder_school_sees_its_own_rating_and_no_form_once_rated(sw, client_for):
    body = _page(sw, client_for, "school_admin_2").content.decode()
    assert 'id="stakeholder-form-' in body and "杞县第二小学" in body
    _records(sw)
    body = _page(sw, client_for, "school_admin").content.decode()
    assert "杞县第一小学意见" in body and "已评价本项目" in body and 'id="stakeholder-form-' not in body
    assert "杞县视导意见0" not in body and 'id="visit-form-' not in body


@pytest.mark.parametrize("who", ["sibling_admin", "tx_expert", "tx_staff", "other_city_admin", "direct_admin"])
def test_outsiders_get_403_on_a_project_they_see_and_never_its_records(sw, client_for, who):
    _records(sw)
    response = _page(sw, client_for, who)
    assert response.status_code == 403
    body = response.content.decode()
    assert "杞县视导意见" not in body and "杞县第一小学意见" not in body


def test_tongxu_never_sees_qixians_visits_through_the_api(sw, client_for):
    _records(sw)
    client = client_for(sw.people["sibling_admin"])
    for path in ("visits", "outcome-reviews", "stakeholder-ratings", "supervisors"):
        response = client.get(f"/api/v1/projects/{sw.projects['qx'].pk}/{path}")
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert "杞县视导意见" not in response.content.decode()
    own = client.get(f"/api/v1/projects/{sw.projects['tx'].pk}/visits").json()
    assert [item["note"] for item in own["items"]] == ["通许县视导意见"] and own["mean"] == "76.7"


def test_a_teacher_has_no_part_in_it(sw, client_for):
    assert _page(sw, client_for, "teacher").status_code == 403
    response = client_for(sw.people["teacher"]).get(f"/api/v1/projects/{sw.projects['qx'].pk}/visits")
    assert response.status_code == 403


def test_the_api_lists_carry_scores_per_criterion_and_the_mean_for_overseers(sw, client_for):
    _records(sw)
    data = client_for(sw.people["city_admin"]).get(f"/api/v1/projects/{sw.projects['qx'].pk}/visits").json()
    assert data["count"] == 1 and data["mean"] == "76.7"
    [item] = data["items"]
    assert item["scores"] == [{"code": "design", "label": "方案设计", "max": 10, "score": 8},
                              {"code": "delivery", "label": "实施过程", "max": 20, "score": 15}]
    assert item["author"] == "钱七" and item["visited_on"] == "2026-11-28"
    expert = client_for(sw.people["expert"]).get(f"/api/v1/projects/{sw.projects['qx'].pk}/visits").json()
    assert expert["count"] == 1 and expert["mean"] is None
    mine = client_for(sw.people["expert"]).get("/api/v1/me/supervisions").json()
    assert mine == [{"project_id": sw.projects["qx"].pk, "project": "项目QX-O", "organiser": "杞县",
                     "starts_on": "2026-11-01", "ends_on": "2026-12-20", "visits": 1, "outcome_reviews": 1}]


def test_the_api_writes_and_its_structured_refusals(sw, client_for):
    client = client_for(sw.people["county_admin"])
    qx = sw.projects["qx"].pk
    named = client.post(f"/api/v1/projects/{qx}/supervisors", {"username": "expert-1"}, content_type="application/json")
    assert named.status_code == 201 and named.json()["name"] == "钱七"
    expert = client_for(sw.people["expert"])
    body = {"rubric_id": sw.rubrics["visit"].pk, "scores": SCORES, "visited_on": "2026-11-27", "note": "好"}
    created = expert.post(f"/api/v1/projects/{qx}/visits", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["total"] == "76.7"
    no_rubric = expert.post(f"/api/v1/projects/{qx}/visits", {**body, "rubric_id": None},
                            content_type="application/json")
    assert no_rubric.status_code == 422
    assert no_rubric.json()["code"] == "invalid" and "没有量规不能评分" in no_rubric.json()["errors"]["rubric"][0]
    over = expert.post(f"/api/v1/projects/{qx}/visits", {**body, "scores": {"design": 11, "delivery": 1}},
                       content_type="application/json")
    assert over.status_code == 422 and "0–10" in over.json()["errors"]["scores"][0]
    review = expert.post(f"/api/v1/projects/{qx}/outcome-reviews",
                         {"rubric_id": sw.rubrics["outcome"].pk, "scores": SCORES, "title": "研修报告", "kind": "report"},
                         content_type="application/json")
    assert review.status_code == 201 and review.json()["kind"] == "report"
    rating = client_for(sw.people["school_admin"]).post(
        f"/api/v1/projects/{qx}/stakeholder-ratings", {"rubric_id": sw.rubrics["stakeholder"].pk, "scores": SCORES},
        content_type="application/json")
    assert rating.status_code == 201 and rating.json()["unit_kind"] == "school"
    again = client_for(sw.people["school_admin"]).post(
        f"/api/v1/projects/{qx}/stakeholder-ratings", {"rubric_id": sw.rubrics["stakeholder"].pk, "scores": SCORES},
        content_type="application/json")
    assert again.status_code == 422 and "已评价过该项目" in again.json()["errors"]["unit"][0]
    refused = client_for(sw.people["school_admin"]).post(f"/api/v1/projects/{qx}/visits", body,
                                                         content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert SupervisionVisit.objects.dangerously_unscoped().count() == 1
    assert OutcomeReview.objects.dangerously_unscoped().count() == 1
    assert StakeholderRating.objects.dangerously_unscoped().count() == 1
    supervisor = Supervisor.objects.dangerously_unscoped().get()
    busy = client_for(sw.people["county_admin"]).delete(f"/api/v1/projects/{qx}/supervisors/{supervisor.pk}")
    assert busy.status_code == 422 and Supervisor.objects.dangerously_unscoped().exists()


def test_the_api_corrects_a_record_for_its_author_only(sw, client_for):
    qx = sw.projects["qx"].pk
    client_for(sw.people["county_admin"]).post(f"/api/v1/projects/{qx}/supervisors", {"username": "expert-1"},
                                               content_type="application/json")
    expert = client_for(sw.people["expert"])
    body = {"rubric_id": sw.rubrics["visit"].pk, "scores": SCORES, "visited_on": "2026-11-27", "note": "好"}
    visit = expert.post(f"/api/v1/projects/{qx}/visits", body, content_type="application/json").json()
    review = expert.post(f"/api/v1/projects/{qx}/outcome-reviews",
                         {"rubric_id": sw.rubrics["outcome"].pk, "scores": SCORES, "title": "研修报告", "kind": "report"},
                         content_type="application/json").json()
    patched = expert.patch(f"/api/v1/evaluation/records/visits/{visit['id']}", {"note": "课堂观察充分"},
                           content_type="application/json")
    assert patched.status_code == 200 and patched.json()["note"] == "课堂观察充分"
    assert patched.json()["visited_on"] == "2026-11-27" and patched.json()["total"] == "76.7"
    renamed = expert.patch(f"/api/v1/evaluation/records/outcome-reviews/{review['id']}", {"title": "研修总结报告"},
                           content_type="application/json")
    assert renamed.status_code == 200 and (renamed.json()["title"], renamed.json()["kind"]) == ("研修总结报告", "report")
    wrong_field = expert.patch(f"/api/v1/evaluation/records/visits/{visit['id']}", {"title": "x"},
                               content_type="application/json")
    assert wrong_field.status_code == 422
    over = expert.patch(f"/api/v1/evaluation/records/visits/{visit['id']}", {"scores": {"design": 11, "delivery": 1}},
                        content_type="application/json")
    assert over.status_code == 422 and SupervisionVisit.objects.dangerously_unscoped().get().note == "课堂观察充分"
    # The organiser oversees the record but does not rewrite an expert's scores; an outsider does not see it.
    assert client_for(sw.people["county_admin"]).patch(f"/api/v1/evaluation/records/visits/{visit['id']}",
                                                       {"note": "改"}, content_type="application/json").status_code == 403
    assert client_for(sw.people["sibling_admin"]).patch(f"/api/v1/evaluation/records/visits/{visit['id']}",
                                                        {"note": "改"}, content_type="application/json").status_code == 404
    assert expert.patch(f"/api/v1/evaluation/records/other/{visit['id']}", {"note": "改"},
                        content_type="application/json").status_code == 422


def test_the_rubric_api(sw, client_for):
    client = client_for(sw.people["county_admin"])
    made = client.post("/api/v1/rubrics", {"kind": "outcome", "code": "QX-O1", "title": "杞县成果量规",
                                           "criteria": [{"code": "a", "label": "规范", "max": 40},
                                                        {"code": "b", "label": "创新", "max": 60}]},
                       content_type="application/json")
    assert made.status_code == 201 and made.json()["max_total"] == 100 and made.json()["division"] == "410221"
    rubric_id = made.json()["id"]
    assert client.patch(f"/api/v1/rubrics/{rubric_id}", {"title": "杞县成果量规（试行）"},
                        content_type="application/json").json()["title"] == "杞县成果量规（试行）"
    assert client.post(f"/api/v1/rubrics/{rubric_id}/publish").json()["state"] == "published"
    frozen = client.patch(f"/api/v1/rubrics/{rubric_id}", {"title": "改"}, content_type="application/json")
    assert frozen.status_code == 422 and "新建版本" in frozen.json()["errors"]["state"][0]
    version = client.post(f"/api/v1/rubrics/{rubric_id}/versions")
    assert version.status_code == 201 and version.json()["version"] == 2
    assert client.post(f"/api/v1/rubrics/{rubric_id}/retire").json()["state"] == "retired"
    duplicate = client.post("/api/v1/rubrics", {"kind": "visit", "code": "X", "title": "重复",
                                                "criteria": [{"code": "a", "label": "甲", "max": 5},
                                                             {"code": "a", "label": "乙", "max": 5}]},
                            content_type="application/json")
    assert duplicate.status_code == 422 and "重复" in duplicate.json()["errors"]["criteria"][0]
    assert client_for(sw.people["sibling_admin"]).get(f"/api/v1/rubrics/{rubric_id}").status_code == 404
    assert client_for(sw.people["school_admin"]).get("/api/v1/rubrics").status_code == 403
    codes = {row["code"] for row in client_for(sw.people["sibling_admin"]).get("/api/v1/rubrics").json()}
    assert "QX-O1" not in codes and "HN-visit" in codes and "HN-visit-draft" not in codes


def test_the_rubric_pages(sw, client_for):
    client = client_for(sw.people["county_admin"])
    assert client.get("/evaluation/supervision/rubrics/").status_code == 200
    assert client.get("/evaluation/supervision/rubrics/new/").status_code == 200
    bad = client.post("/evaluation/supervision/rubrics/new/", {"kind": "visit", "code": "QX-P", "title": "杞县",
                                                               "criteria": "a|甲|0"})
    assert bad.status_code == 400 and "满分应为1–1000的整数" in bad.content.decode()
    made = client.post("/evaluation/supervision/rubrics/new/", {"kind": "visit", "code": "QX-P", "title": "杞县视导",
                                                                "criteria": "a|组织|40\nb｜成效｜60"})
    row = Rubric.objects.dangerously_unscoped().get(code="QX-P")
    assert made.status_code == 302 and row.criteria == [{"code": "a", "label": "组织", "max": 40},
                                                        {"code": "b", "label": "成效", "max": 60}]
    edited = client.post(f"/evaluation/supervision/rubrics/{row.pk}/", {"title": "杞县视导（试行）", "criteria": "a|组织|50"})
    assert edited.status_code == 302
    client.post(f"/evaluation/supervision/rubrics/{row.pk}/state/", {"action": "publish"})
    row.refresh_from_db()
    assert (row.state, row.title, row.criteria) == ("published", "杞县视导（试行）", [{"code": "a", "label": "组织", "max": 50}])
    page = client.get(f"/evaluation/supervision/rubrics/{row.pk}/").content.decode()
    assert 'id="rubric-version"' in page and 'id="rubric-edit"' not in page
    assert client_for(sw.people["sibling_admin"]).get(f"/evaluation/supervision/rubrics/{row.pk}/").status_code == 404
    assert client_for(sw.people["expert"]).get("/evaluation/supervision/rubrics/").status_code == 403


def test_the_page_forms_record_and_edit(sw, client_for):
    qx = sw.projects["qx"].pk
    county = client_for(sw.people["county_admin"])
    county.post(f"/evaluation/supervision/projects/{qx}/supervisors/", {"action": "add", "username": "expert-1"})
    assert Supervisor.objects.dangerously_unscoped().filter(user=sw.people["expert"]).exists()
    client = client_for(sw.people["expert"])
    response = client.post(f"/evaluation/supervision/projects/{qx}/records/visit/",
                           {"rubric": sw.rubrics["visit"].pk, "visited_on": "2026-11-20", "score_design": "9",
                            "score_delivery": "18", "note": "课堂观察"})
    assert response.status_code == 302
    row = SupervisionVisit.objects.dangerously_unscoped().get()
    assert row.total == Decimal("90.0") and row.visited_on == dt.date(2026, 11, 20)
    refused = client.post(f"/evaluation/supervision/projects/{qx}/records/visit/",
                          {"visited_on": "2026-11-20", "score_design": "9", "score_delivery": "18"}, follow=True)
    assert "没有量规不能评分" in refused.content.decode()
    assert SupervisionVisit.objects.dangerously_unscoped().count() == 1
    edit = f"/evaluation/supervision/records/visit/{row.pk}/"
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"visited_on": "2026-11-21", "score_design": "10", "score_delivery": "20",
                              "note": "复核"}).status_code == 302
    row.refresh_from_db()
    assert row.total == Decimal("100.0") and row.note == "复核"
    assert client_for(sw.people["county_admin"]).get(edit).status_code == 403
    assert client_for(sw.people["sibling_admin"]).get(edit).status_code == 404
    assert client.post(f"/evaluation/supervision/projects/{qx}/records/nonsense/", {}).status_code == 404


def test_list_pages_do_not_grow_in_queries_with_the_rows(sw, client_for, django_assert_max_num_queries):
    _records(sw, n=1)
    client = client_for(sw.people["county_admin"])
    url = f"/evaluation/supervision/projects/{sw.projects['qx'].pk}/"
    with django_assert_max_num_queries(30) as few:
        assert client.get(url).status_code == 200
    _records_more(sw, 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
    expert = client_for(sw.people["expert"])
    with django_assert_max_num_queries(12):
        assert expert.get("/evaluation/supervision/mine/").status_code == 200
    client = client_for(sw.people["county_admin"])
    with django_assert_max_num_queries(12):
        assert client.get("/evaluation/supervision/rubrics/").status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(f"/api/v1/projects/{sw.projects['qx'].pk}/visits").status_code == 200


def _records_more(sw, n):
    for number in range(n):
        supervision.visit_record(scope=sw.scope("expert"), actor=None, project_id=sw.projects["qx"].pk,
                                 rubric_id=sw.rubrics["visit"].pk, scores=SCORES, visited_on=TODAY, note=f"更多{number}")
        supervision.outcome_review_record(scope=sw.scope("county_admin"), actor=None, project_id=sw.projects["qx"].pk,
                                          rubric_id=sw.rubrics["outcome"].pk, scores=SCORES, title=f"成果{number}",
                                          kind="report")
    supervision.supervisor_add(scope=sw.scope("county_admin"), actor=None, project_id=sw.projects["qx"].pk,
                               username="admin-410200")


def test_the_outcome_file_is_uploaded_on_the_page_and_through_the_api_and_read_by_overseers(sw, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = b"%PDF-1.7\n%%EOF\n"
    qx = sw.projects["qx"].pk
    client_for(sw.people["county_admin"]).post(f"/api/v1/projects/{qx}/supervisors", {"username": "expert-1"},
                                               content_type="application/json")
    expert = client_for(sw.people["expert"])
    form = {"rubric": sw.rubrics["outcome"].pk, "title": "作业设计案例", "kind": "case",
            **{f"score_{code}": value for code, value in SCORES.items()}, "file": SimpleUploadedFile("案例.pdf", pdf)}
    assert expert.post(f"/evaluation/supervision/projects/{qx}/records/outcome/", form).status_code == 302
    row = OutcomeReview.objects.dangerously_unscoped().get()
    assert row.file_name == "案例.pdf"
    page = client_for(sw.people["county_admin"]).get(f"/evaluation/supervision/projects/{qx}/").content.decode()
    assert f"/evaluation/supervision/records/outcome/{row.pk}/file/" in page and "案例.pdf" in page
    download = client_for(sw.people["county_admin"]).get(f"/evaluation/supervision/records/outcome/{row.pk}/file/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf
    assert client_for(sw.people["sibling_admin"]).get(
        f"/evaluation/supervision/records/outcome/{row.pk}/file/").status_code == 404
    assert client_for(sw.people["teacher"]).get(
        f"/evaluation/supervision/records/outcome/{row.pk}/file/").status_code == 403
    # Through the API: the author replaces it; an overseer downloads it; a false file is refused.
    expert = client_for(sw.people["expert"])  # one test client, signed in again as the author
    api = expert.post(f"/api/v1/evaluation/records/outcome-reviews/{row.pk}/file",
                      {"file": SimpleUploadedFile("案例（修订）.pdf", pdf)})
    assert api.status_code == 200, api.content.decode()
    assert api.json()["file_name"] == "案例（修订）.pdf"
    bad = expert.post(f"/api/v1/evaluation/records/outcome-reviews/{row.pk}/file",
                      {"file": SimpleUploadedFile("案例.pdf", b"not a pdf")})
    assert bad.status_code == 422 and "内容与扩展名不符" in str(bad.json())
    got = client_for(sw.people["city_admin"]).get(f"/api/v1/evaluation/records/outcome-reviews/{row.pk}/file")
    assert got.status_code == 200 and b"".join(got.streaming_content) == pdf
    assert client_for(sw.people["sibling_admin"]).get(
        f"/api/v1/evaluation/records/outcome-reviews/{row.pk}/file").status_code == 404
