"""Importing a provider's catalogue: tags by code or Chinese name, a row report, all or
nothing, idempotent by (provider, code); bad rows refused with their reason."""

from decimal import Decimal

import pytest

from access.scope import scope_for_user
from audit.models import AuditEvent
from learning.catalogue import catalogue_import, file_rows
from learning.models import Course
from learning.services import course_publish
from learning.tests.conftest import catalogue, row
from people.roster.files import RosterFileError


def _courses():
    return {c.code: c for c in Course.objects.dangerously_unscoped().all()}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_catalogue_goes_in_with_its_tags_and_again_changes_nothing(import_rows, province, kind):
    rows = [row("C-1", 必修内容="师德师风、“四史”教育", 精品资源共享课="是"),
            row("C-2", "大单元教学设计", 学段="primary", 学科="math, chinese", **{"专题/能力": "作业设计能力 it"},
                学时="4.5", 学时类别="online", 形式="blended", 层级="county", 活动IRI="https://other.example.org/x/2")]
    report = import_rows(rows, kind=kind)
    assert report.applied and report.counts == {"created": 2, "updated": 0, "unchanged": 0, "refused": 0}
    assert [(r.row, r.status) for r in report.rows] == [(2, "created"), (3, "created")]
    courses = _courses()
    first, second = courses["C-1"], courses["C-2"]
    assert first.stages == ["primary", "junior"] and first.subjects == ["chinese"] and first.topics == ["classroom"]
    assert first.required_content == ["ethics", "four_histories"] and first.is_featured
    assert first.activity_iri == "https://basic.smartedu.example.cn/course/C-1"  # the provider's base + code
    assert first.division_id == province.province.pk and first.state == "draft" and first.level == "province"
    assert second.subjects == ["math", "chinese"] and second.topics == ["homework", "it"]
    assert second.hours == Decimal("4.5") and second.format == "blended" and second.level == "county"
    assert second.activity_iri == "https://other.example.org/x/2"

    again = import_rows(rows, kind=kind)
    assert again.applied and again.counts["unchanged"] == 2 and again.counts["created"] == 0
    assert _courses()["C-1"].updated_at == first.updated_at
    changed = import_rows([rows[0], row("C-2", "大单元教学设计（修订）", 学段="primary", 学科="math, chinese",
                                        **{"专题/能力": "作业设计能力 it"}, 学时="4.5", 学时类别="online", 形式="blended",
                                        层级="county", 活动IRI="https://other.example.org/x/2")], kind=kind)
    assert [r.status for r in changed.rows] == ["unchanged", "updated"]
    assert _courses()["C-2"].title == "大单元教学设计（修订）" and len(_courses()) == 2
    assert AuditEvent.objects.dangerously_unscoped().filter(action="learning.catalogue_import").count() == 3


@pytest.mark.parametrize(("values", "reason"), [
    ({"学段": "大学"}, "未知的学段：大学"),
    ({"学科": "炼丹"}, "未知的学科：炼丹"),
    ({"专题/能力": "课堂教学 飞行"}, "未知的专题/能力：飞行"),
    ({"必修内容": "五史"}, "未知的必修内容：五史"),
    ({"学时": "-2"}, "学时应大于 0"),
    ({"学时": "0"}, "学时应大于 0"),
    ({"学时": "500"}, "不合常理"),
    ({"学时": "三"}, "学时应为数字"),
    ({"学时类别": "自学"}, "未知的学时类别"),
    ({"形式": "广播"}, "未知的形式"),
    ({"提供方": "nobody"}, "未知的提供方：nobody"),
    ({"课程编号": ""}, "课程编号不能为空"),
    ({"课程名称": ""}, "课程名称不能为空"),
    ({"精品资源共享课": "也许"}, "应填 是 或 否"),
    ({"活动IRI": "not an iri"}, "活动 IRI 应为完整的 IRI"),
])
def test_a_bad_row_is_refused_with_its_reason_and_nothing_goes_in(import_rows, values, reason):
    report = import_rows([row("C-1"), row("C-2", **values), row("C-3")])
    assert not report.applied
    assert [r.status for r in report.rows] == ["created", "refused", "created"]
    assert reason in report.rows[1].reason
    assert _courses() == {}


def test_duplicate_codes_in_one_file_are_refused_naming_the_first_row(import_rows):
    report = import_rows([row("C-1"), row("C-2"), row("C-1", "另一门")])
    assert report.rows[2].status == "refused" and "与第 2 行重复" in report.rows[2].reason
    assert _courses() == {}
    # the same code from another provider is another course
    report = import_rows([row("C-1"), row("C-1", 提供方="河南大学", 活动IRI="https://henu.example.edu.cn/c/1")])
    assert report.applied and Course.objects.dangerously_unscoped().filter(code="C-1").count() == 2


def test_a_course_another_county_owns_is_refused_not_taken_over(import_rows):
    assert import_rows([row("C-1")], who="county_admin").applied
    report = import_rows([row("C-1", "改名"), row("C-9")], who="sibling_admin")
    assert not report.applied and "已由其他区划导入" in report.rows[0].reason
    assert "杞县" not in report.rows[0].reason  # another county's name is not told to it
    # the city above 杞县 may update it (its jurisdiction); the province's published course is not a county's
    assert import_rows([row("C-1", "改名")], who="city_admin").rows[0].status == "updated"


def test_a_published_course_keeps_its_hours_category_and_iri(import_rows, users):
    import_rows([row("C-1")])
    course = _courses()["C-1"]
    course_publish(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], course_id=course.pk)
    report = import_rows([row("C-1", 学时="6")])
    assert not report.applied and "学时不能通过导入修改" in report.rows[0].reason
    assert import_rows([row("C-1", "新名称")]).rows[0].status == "updated"  # the title may change


def test_a_county_reads_a_province_course_but_may_not_import_over_it(import_rows, users):
    import_rows([row("C-1")])
    report = import_rows([row("C-1", "县里改的")], who="county_admin")
    assert not report.applied and "课程编号已由其他区划导入" in report.rows[0].reason  # a draft: not open to it
    course_publish(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"],
                   course_id=_courses()["C-1"].pk)
    report = import_rows([row("C-1", "县里改的")], who="county_admin")
    assert not report.applied and report.rows[0].reason == "该课程由河南省管理，不能通过本次导入修改"
    assert _courses()["C-1"].title == "课堂提问与学生思维发展"


def test_a_file_without_its_columns_or_of_the_wrong_kind_is_refused_whole(providers):
    import io

    with pytest.raises(RosterFileError, match="缺少列：学时"):
        file_rows(io.BytesIO("提供方,课程编号,课程名称\nsmartedu,C-1,x\n".encode()), "c.csv")
    with pytest.raises(RosterFileError, match="只接受"):
        file_rows(io.BytesIO(b"x"), "c.txt")
    handle, name = catalogue([row("C-1")])
    rows, digest = file_rows(handle, name)
    assert rows[0][0] == 2 and rows[0][1]["code"] == "C-1" and len(digest) == 64


def test_only_the_importers_jurisdiction_owns_what_it_imports(users, providers, province):
    """A school administrator's scope cannot create courses (the pages refuse it earlier too)."""
    user = users["school_admin"]
    report = catalogue_import(scope=scope_for_user(user), actor=user, division=province.county,
                              rows=[(1, {"provider": "smartedu", "code": "C-1", "title": "x", "hours": 2})], source="t")
    assert report.rows[0].status == "refused" and not report.applied
