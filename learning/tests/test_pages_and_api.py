"""The course-library pages and API: lists filtered and paged in a fixed number of queries,
a course, the import with its row report, curation, providers; structured JSON errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access.scope import scope_for_user
from learning.models import Course
from learning.services import course_publish
from learning.tests.conftest import catalogue, row


def _publish_all(users, who="province_admin"):
    scope = scope_for_user(users[who])
    for pk in Course.objects.dangerously_unscoped().values_list("pk", flat=True):
        course_publish(scope=scope, actor=users[who], course_id=pk)


@pytest.fixture
def library(import_rows, users):
    rows = [row(f"P-{n:02d}", f"省课程{n:02d}", 学段="小学" if n % 2 else "初中", 学科="数学" if n % 3 else "语文",
                精品资源共享课="是" if n % 5 == 0 else "否", 必修内容="师德师风" if n % 4 == 0 else "")
            for n in range(60)]
    assert import_rows(rows).applied
    _publish_all(users)
    assert import_rows([row("Q-1", "杞县课程（待发布）")], who="county_admin").applied
    return rows


def test_a_teacher_pages_through_published_courses_in_a_fixed_number_of_queries(library, users, client_for,
                                                                              django_assert_max_num_queries):
    client = client_for(users["teacher"])
    client.get("/learning/courses/")
    with django_assert_max_num_queries(8):
        first = client.get("/learning/courses/").content.decode()
    assert first.count('href="/learning/courses/') >= 50 and "杞县课程（待发布）" not in first
    assert "after=" in first and "省课程00" in first and "省课程59" not in first
    second = client.get("/learning/courses/?after=" + first.split("after=")[1].split('"')[0]).content.decode()
    assert "省课程59" in second and "省课程00" not in second
    filtered = client.get("/learning/courses/?stage=primary&subject=chinese&featured=1").content.decode()
    assert "省课程15" in filtered and "省课程45" in filtered and "省课程05" not in filtered
    assert "省课程03" in client.get("/learning/courses/?q=课程03").content.decode()
    # a teacher's state filter is ignored: published only
    assert "杞县课程（待发布）" not in client.get("/learning/courses/?state=draft").content.decode()


def test_an_administrator_filters_by_state_and_sees_curation_buttons(library, users, client_for):
    client = client_for(users["county_admin"])
    drafts = client.get("/learning/courses/?state=draft").content.decode()
    assert "杞县课程（待发布）" in drafts and "省课程01" not in drafts
    course = Course.objects.dangerously_unscoped().get(code="Q-1")
    detail = client.get(f"/learning/courses/{course.pk}/").content.decode()
    assert "发布" in detail and "合并" in detail
    response = client.post(f"/learning/courses/{course.pk}/publish/")
    assert response.status_code == 302 and Course.objects.dangerously_unscoped().get(pk=course.pk).state == "published"
    province_course = Course.objects.dangerously_unscoped().get(code="P-01")
    seen = client.get(f"/learning/courses/{province_course.pk}/").content.decode()
    assert "省课程01" in seen and "下架" not in seen  # the province's: seen, not curated
    assert client.post(f"/learning/courses/{province_course.pk}/retire/").status_code == 403
    assert client_for(users["sibling_admin"]).get(f"/learning/courses/{course.pk}/").status_code == 404
    assert "杞县课程" not in client_for(users["sibling_admin"]).get("/learning/courses/").content.decode()


def test_the_import_page_shows_the_row_report(providers, users, client_for):
    client = client_for(users["county_admin"])
    handle, name = catalogue([row("C-1"), row("C-2", 学时="-1"), row("C-1", "重复")])
    response = client.post("/learning/courses/import/", {"file": SimpleUploadedFile(name, handle.read())})
    page = response.content.decode()
    assert response.status_code == 400 and "未导入：2 行有误" in page
    assert "学时应大于 0" in page and "与第 2 行重复" in page
    assert not Course.objects.dangerously_unscoped().exists()
    handle, name = catalogue([row("C-1"), row("C-2")], kind="xlsx")
    response = client.post("/learning/courses/import/", {"file": SimpleUploadedFile(name, handle.read())})
    assert response.status_code == 200 and "已导入：新增 2，更新 0，未变 0" in response.content.decode()
    bad = client.post("/learning/courses/import/", {"file": SimpleUploadedFile("c.pdf", b"%PDF")})
    assert bad.status_code == 400 and "只接受 .xlsx 或 .csv 文件" in bad.content.decode()
    assert client_for(users["teacher"]).get("/learning/courses/import/").status_code == 403


def test_the_api_lists_filters_and_pages(library, users, client_for, django_assert_max_num_queries):
    client = client_for(users["teacher"])
    client.get("/api/v1/learning/courses?limit=20")
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/learning/courses?limit=20").json()
    assert len(body["items"]) == 20 and body["next_after"] == body["items"][-1]["id"]
    item = body["items"][0]
    assert item["provider"] == "smartedu" and item["state"] == "published" and item["may_change"] is False
    assert {"stages", "subjects", "topics", "required_content", "hours", "rating", "completion_count",
            "is_featured", "activity_iri"} <= set(item)
    ethics = client.get("/api/v1/learning/courses?required=ethics&limit=200").json()["items"]
    assert len(ethics) == 15 and all("ethics" in c["required_content"] for c in ethics)
    assert client.get("/api/v1/learning/courses?provider=henu").json()["items"] == []
    draft = Course.objects.dangerously_unscoped().get(code="Q-1")
    missing = client_for(users["sibling_teacher_user"]).get(f"/api/v1/learning/courses/{draft.pk}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    admin = client_for(users["county_admin"]).get("/api/v1/learning/courses?state=draft").json()["items"]
    assert [c["code"] for c in admin] == ["Q-1"] and admin[0]["may_change"] is True


def test_the_api_imports_json_with_the_same_report(providers, users, client_for):
    client = client_for(users["county_admin"])
    rows = [{"provider": "国家智慧教育平台", "code": "J-1", "title": "作业设计", "hours": 2, "stages": ["小学"],
             "topics": ["作业设计"], "required_content": ["师德师风"]},
            {"provider": "smartedu", "code": "J-2", "title": "实验", "hours": 250, "topics": "实验操作"}]
    refused = client.post("/api/v1/learning/courses/import", {"rows": rows}, content_type="application/json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "refused" and body["applied"] is False and body["rows"][1]["status"] == "refused" and "不合常理" in body["rows"][1]["reason"]
    rows[1]["hours"] = 2.5
    done = client.post("/api/v1/learning/courses/import", {"rows": rows}, content_type="application/json").json()
    assert done["applied"] and done["counts"]["created"] == 2
    again = client.post("/api/v1/learning/courses/import", {"rows": rows}, content_type="application/json").json()
    assert again["counts"]["unchanged"] == 2
    course_id = done["rows"][0]["course_id"]
    published = client.post(f"/api/v1/learning/courses/{course_id}/publish").json()
    assert published["state"] == "published"
    merged = client.post(f"/api/v1/learning/courses/{done['rows'][1]['course_id']}/merge", {"into_id": course_id},
                         content_type="application/json")
    assert merged.status_code == 200 and merged.json()["id"] == course_id
    retired = client.post(f"/api/v1/learning/courses/{course_id}/retire").json()
    assert retired["state"] == "retired"
    teacher = client_for(users["teacher"]).post("/api/v1/learning/courses/import", {"rows": rows},
                                                content_type="application/json")
    assert teacher.status_code == 403 and teacher.json()["code"] == "forbidden"


def test_providers_through_the_api(providers, users, client_for):
    client = client_for(users["county_admin"])
    assert {p["code"] for p in client.get("/api/v1/learning/providers").json()} == {"smartedu", "henu"}
    created = client.post("/api/v1/learning/providers", {"code": "qx-centre", "name": "杞县教师发展中心",
                                                         "kind": "institution"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["division"] == "410221"
    taken = client.post("/api/v1/learning/providers", {"code": "smartedu", "name": "另一个", "kind": "national"},
                        content_type="application/json")
    assert taken.status_code == 422 and "code" in taken.json()["errors"]
    assert client_for(users["teacher"]).get("/api/v1/learning/providers").status_code == 403
