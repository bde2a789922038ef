"""Chinese search over the course library (learning.search) through the selector, the page and
the API: segmentation, relevance, tag names, every filter, scope, the index kept fresh by the
services, hostile input. Runs on SQLite (FTS5) and PostgreSQL (tsvector) alike."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.scope import scope_for_user
from learning import search, selectors
from learning.models import Course
from learning.services import course_merge, course_publish, course_retire
from learning.tests.conftest import row


def _publish(users, who, codes):
    scope = scope_for_user(users[who])
    for course in Course.objects.dangerously_unscoped().filter(code__in=codes):
        course_publish(scope=scope, actor=users[who], course_id=course.pk)


# The counties' courses: a stage and subject none of the province's test courses has.
ELSEWHERE = {"学段": "高中", "学科": "化学", "学时": "3"}


@pytest.fixture
def library(import_rows, users):
    """Province courses (published), 杞县's (one published, one draft) and 通许县's (published)."""
    rows = [
        row("T-TITLE", "大单元教学设计与实施", 学段="初中", 学科="数学", 简介="单元整体设计的方法。", 学时="6"),
        row("T-DESC", "课堂观察的方法", 学段="小学", 学科="语文", 简介="结合大单元教学的课堂观察与记录。",
            精品资源共享课="是", 学时="2"),
        row("T-ETHICS", "新时代教师职业行为准则解读", 学段="", 学科="", 必修内容="师德师风", 学时="3", **{"专题/能力": ""}),
        row("T-FUNC", "函数图像的探究", 学段="初中", 学科="数学", 学时="4.5", 简介="", **{"专题/能力": "作业设计"}),
        row("T-HOMEWORK", "小学语文作业设计与评价", 学段="小学", 学科="语文", 学时="8", 提供方="henu",
            活动IRI="https://mooc.henu.example.edu.cn/c/hw", **{"专题/能力": "作业设计"}),
        row("T-FAMILY", "家校共育的沟通艺术", 学段="小学、初中", 学科="", 学时="12", **{"专题/能力": "家庭教育指导能力"}),
    ]
    assert import_rows(rows).applied
    _publish(users, "province_admin", [r[1] for r in rows])
    assert import_rows([row("QX-PUB", "杞县乡村教师大单元教学实践", **ELSEWHERE),
                        row("QX-DRAFT", "杞县大单元教学草稿", **ELSEWHERE)], who="county_admin").applied
    _publish(users, "county_admin", ["QX-PUB"])
    assert import_rows([row("TX-PUB", "通许县大单元教学示范课", **ELSEWHERE)], who="sibling_admin").applied
    _publish(users, "sibling_admin", ["TX-PUB"])


def _codes(users, who="teacher", **params) -> list[str]:
    user = users[who]
    filters = selectors.course_filters_from({k: str(v) for k, v in params.items()},
                                            admin=user.role.endswith("_admin") and user.role != "school_admin")
    page = selectors.course_page(scope_for_user(user), filters, size=200)
    return [course.code for course in page.courses]


def test_dictionary_terms_stay_whole_and_longer_words_are_found_by_their_parts():
    assert "师德师风" in search.words("加强新时代师德师风建设")
    assert "双减" in search.words("落实“双减”政策")
    assert "大单元教学" in search.words("大单元教学设计")
    assert "家校共育" in search.words("家校共育的沟通艺术")
    assert {"师德", "师风"} <= set(search.words("师德师风"))  # the shorter words inside, for shorter queries
    query = search.parse("信息技术应用能力")
    assert query.clauses[0][0] == ("信息技术应用能力",) and {"信息", "技术", "应用", "能力"} <= set(query.clauses[0][1])
    assert search.parse("ＡＢＣ数学").clauses[0] == (("abc",),)  # full-width letters, any case


def test_a_title_hit_outranks_a_description_only_hit(library, users, client_for):
    # T-DESC is 精品 and much completed: the boost never lifts a description hit over a title hit.
    Course.objects.dangerously_unscoped().filter(code="T-DESC").update(completion_count=5000)
    found = _codes(users, q="大单元教学")
    assert found.index("T-TITLE") < found.index("T-DESC")
    body = client_for(users["teacher"]).get("/api/v1/learning/courses?q=大单元教学").json()
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)
    by_code = {item["code"]: item["score"] for item in body["items"]}
    assert by_code["T-TITLE"] > by_code["T-DESC"]
    assert "T-FUNC" not in by_code  # no 大单元教学 anywhere in it


def test_tag_names_and_the_provider_are_searchable(library, users):
    assert _codes(users, q="师德") == ["T-ETHICS"]  # tagged 师德师风, the word is nowhere in its text
    assert set(_codes(users, q="初中数学")) == {"T-TITLE", "T-FUNC"}  # tagged 初中 + 数学
    assert set(_codes(users, q="作业设计")) == {"T-FUNC", "T-HOMEWORK"}
    assert _codes(users, q="河南大学") == ["T-HOMEWORK"]  # its provider
    assert _codes(users, q="家庭教育指导") == ["T-FAMILY"]  # a capability's name
    assert _codes(users, q="量子力学") == []


def test_every_filter_alone_and_with_a_query(library, users):
    assert set(_codes(users, stage="junior")) == {"T-TITLE", "T-FUNC", "T-FAMILY"}
    assert set(_codes(users, subject="math")) == {"T-TITLE", "T-FUNC"}
    assert set(_codes(users, stage="primary", subject="chinese")) == {"T-DESC", "T-HOMEWORK"}
    assert set(_codes(users, topic="homework")) == {"T-FUNC", "T-HOMEWORK"}
    assert set(_codes(users, topic="family")) == {"T-FAMILY"}
    assert _codes(users, required="ethics") == ["T-ETHICS"]
    assert _codes(users, provider="henu") == ["T-HOMEWORK"]
    assert set(_codes(users, hours_min="4.5", hours_max="8")) == {"T-TITLE", "T-FUNC", "T-HOMEWORK"}
    assert set(_codes(users, hours_min="12")) == {"T-FAMILY"}
    assert _codes(users, featured="1") == ["T-DESC"]
    assert _codes(users, q="大单元教学", stage="junior") == ["T-TITLE"]
    assert _codes(users, q="作业设计", provider="smartedu") == ["T-FUNC"]
    assert _codes(users, q="大单元教学", hours_max="2") == ["T-DESC"]
    assert _codes(users, q="设计", topic="homework", subject="chinese") == ["T-HOMEWORK"]
    # state: an administrator's filter; a teacher sees published courses whatever it says
    assert _codes(users, "county_admin", q="大单元教学", state="draft") == ["QX-DRAFT"]
    assert "QX-DRAFT" not in _codes(users, q="大单元教学", state="draft")


def test_search_never_finds_a_course_the_viewer_may_not_see(library, users, client_for):
    assert set(_codes(users, q="大单元教学")) == {"T-TITLE", "T-DESC", "QX-PUB"}  # 杞县's teacher
    assert set(_codes(users, "sibling_teacher_user", q="大单元教学")) == {"T-TITLE", "T-DESC", "TX-PUB"}
    assert set(_codes(users, "county_admin", q="大单元教学")) == {"T-TITLE", "T-DESC", "QX-PUB", "QX-DRAFT"}
    assert set(_codes(users, "sibling_admin", q="杞县")) == set()  # another county's, in any state
    assert set(_codes(users, "sibling_admin", q="大单元教学")) == {"T-TITLE", "T-DESC", "TX-PUB"}
    assert set(_codes(users, "city_admin", q="大单元教学")) == {"T-TITLE", "T-DESC", "QX-PUB", "QX-DRAFT", "TX-PUB"}
    api = client_for(users["sibling_teacher_user"]).get("/api/v1/learning/courses?q=杞县").json()
    assert api["items"] == []
    page = client_for(users["sibling_admin"]).get("/learning/courses/?q=杞县大单元教学").content.decode()
    assert "杞县" not in page.split('id="courses"')[1]


def test_the_index_follows_import_update_retire_and_merge(library, users, import_rows):
    assert import_rows([row("QX-PUB", "杞县乡村教师跨学科主题学习", **ELSEWHERE)], who="county_admin").applied
    assert _codes(users, q="跨学科") == ["QX-PUB"]
    assert "QX-PUB" not in _codes(users, q="大单元教学")  # the old title is gone from the index
    # tags changed by an import: the filter follows
    assert import_rows([row("QX-DRAFT", "杞县大单元教学草稿", 学段="初中", 学科="物理", 学时="3")],
                       who="county_admin").applied
    assert _codes(users, "county_admin", subject="physics") == ["QX-DRAFT"]
    assert _codes(users, "county_admin", q="初中物理") == ["QX-DRAFT"]

    county = scope_for_user(users["county_admin"])
    course = Course.objects.dangerously_unscoped().get(code="QX-PUB")
    course_retire(scope=county, actor=users["county_admin"], course_id=course.pk)
    assert _codes(users, q="跨学科") == []
    assert _codes(users, "county_admin", q="跨学科", state="retired") == ["QX-PUB"]

    province = scope_for_user(users["province_admin"])
    duplicate, kept = (Course.objects.dangerously_unscoped().get(code=c) for c in ("T-DESC", "T-TITLE"))
    course_merge(scope=province, actor=users["province_admin"], course_id=duplicate.pk, into_id=kept.pk)
    assert _codes(users, q="课堂观察") == []
    assert "T-TITLE" in _codes(users, q="大单元教学")
    assert _codes(users, "province_admin", q="课堂观察") == ["T-DESC"]  # retired, still the administrators'


def test_reindex_rebuilds_the_whole_index(library, users):
    before = _codes(users, q="大单元教学")
    call_command("learning", "reindex")
    assert _codes(users, q="大单元教学") == before and _codes(users, stage="junior")


HOSTILE = ["'", "\\", "&", "|", "!", ":*", "()", "'&|!:*()\\", "a:*", "a & !b", "' OR 1=1 --", '"', '"a" NEAR b',
           "title:大单元", "{title}: x", "^a", "a*", "AND", "OR NOT", "NEAR(a b)", "stage:junior", "%", "_", "\x00",
           "😀数学", "ａ＆ｂ", "大单元教学" * 10]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_are_words_or_nothing_never_an_error(library, users, client_for, text):
    client = client_for(users["teacher"])
    response = client.get("/api/v1/learning/courses", {"q": text})
    assert response.status_code in (200, 400, 422), response.content  # 400: a NUL, refused before any view
    if response.status_code != 200:
        assert response.json()["code"] == "invalid"
    page = client.get("/learning/courses/", {"q": text})
    assert page.status_code in (200, 400)


def test_filter_tokens_cannot_be_reached_by_a_query(library, users):
    assert _codes(users, q="stage:junior") == _codes(users, q="stage junior") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=100))
def test_any_text_searches_without_error(library, users, text):
    found = _codes(users, q=text)
    assert set(found) <= {"T-TITLE", "T-DESC", "T-ETHICS", "T-FUNC", "T-HOMEWORK", "T-FAMILY", "QX-PUB"}


def test_bad_input_is_a_chinese_message_on_the_page_and_a_422_in_the_api(library, users, client_for):
    client = client_for(users["teacher"])
    cases = [({"q": "数" * 101}, "q", "搜索词不超过 100 个字"), ({"hours_min": "abc"}, "hours_min", "学时应为"),
             ({"hours_min": "8", "hours_max": "2"}, "hours_max", "最高学时不能小于最低学时"),
             ({"hours_max": "NaN"}, "hours_max", "学时应为"), ({"stage": "college"}, "stage", "未知的学段")]
    for params, field, message in cases:
        api = client.get("/api/v1/learning/courses", params)
        assert api.status_code == 422 and api.json()["code"] == "invalid", params
        assert message in api.json()["errors"][field][0]
        page = client.get("/learning/courses/", params)
        assert page.status_code == 400 and message in page.content.decode()


def test_the_search_page_in_a_fixed_number_of_queries_and_ranked_pages(import_rows, users, client_for,
                                                                        django_assert_num_queries):
    rows = [row(f"P-{n:03d}", f"作业设计专题{n:03d}", 学时=str(1 + n % 10), 简介="分层作业与评价。") for n in range(70)]
    assert import_rows(rows).applied
    _publish(users, "province_admin", [r[1] for r in rows])
    client = client_for(users["teacher"])
    client.get("/learning/courses/?q=作业设计")
    # session, user, teacher; the ranked ids; their rows (the providers of the filter are cached)
    with django_assert_num_queries(5):
        first = client.get("/learning/courses/?q=作业设计&stage=primary&hours_min=2").content.decode()
    assert "按相关度排序" in first and first.count("作业设计专题") == 50 and "page=2" in first
    second = client.get("/learning/courses/?q=作业设计&stage=primary&hours_min=2&page=2").content.decode()
    shown = {line for line in first.split() if "作业设计专题" in line}
    assert second.count("作业设计专题") == 70 - 7 - 50  # seven have 1 hour
    assert not shown & {line for line in second.split() if "作业设计专题" in line}
    with django_assert_num_queries(5):  # session, user, teacher, ranked ids, rows
        body = client.get("/api/v1/learning/courses?q=作业设计&limit=30").json()
    assert len(body["items"]) == 30 and body["next_page"] == 2 and body["next_after"] is None
    assert client.get("/api/v1/learning/courses?q=作业设计&page=21").json()["items"] == []  # limit 50
    admin = client_for(users["county_admin"])
    admin.get("/learning/courses/?q=作业设计")
    with django_assert_num_queries(6):  # session, user, division, whether it has children, ranked ids, rows
        assert "作业设计专题" in admin.get("/learning/courses/?q=作业设计&state=published&page=2").content.decode()  # past the first 1,000


def test_filters_parse_hours_as_decimals():
    filters = selectors.course_filters_from({"hours_min": " 2.5 ", "hours_max": "10"}, admin=False)
    assert filters.hours_min == Decimal("2.5") and filters.hours_max == Decimal("10") and filters.state == "published"
