"""The audit log page reads as words: the action, result and object in Chinese, the actor by
name and role, the detail as labelled values; the names are looked up per page, not per row."""

import datetime as dt

from audit.services import audit_record
from catalog.models import Project


def _project(province):
    return Project.objects.create(code="QX-LOG-1", title="杞县骨干教师研修", level="county", category="backbone",
                                  mode="online", organiser=province.county, division_path=province.county.path,
                                  seats=5, hours=8, hour_category="online", starts_on=dt.date(2027, 3, 1),
                                  ends_on=dt.date(2027, 3, 2))


def test_rows_read_as_words_with_a_fixed_number_of_queries(users, province, client_for,
                                                           django_assert_max_num_queries):
    admin = users["county_admin"]
    admin.first_name, admin.last_name = "明", "王"
    admin.save()
    project = _project(province)
    path = province.county.path
    audit_record(action="catalog.project_update", actor=admin, scope_path=path, object_type="project",
                 object_id=project.pk, detail={"title": ["旧名", "新名"], "self_enrolment": ["False", "True"],
                                                            "mode": ["blended", "online"]})
    audit_record(action="catalog.enrolment_reenrol", actor=admin, scope_path=path, object_type="enrolment",
                 object_id=1, detail={"state": "pending", "nominated": True})
    audit_record(action="teacher.update", actor=admin, scope_path=path, object_type="teacher",
                 object_id=province.teacher.pk, result="refused", detail={"reason": "超出辖区"})
    client = client_for(admin)
    with django_assert_max_num_queries(14):
        body = client.get("/audit/").content.decode()
    assert "修改培训项目" in body and "修改教师信息" in body
    assert f"王明（admin-410221 · {admin.get_role_display()}）" in body
    assert "培训项目「杞县骨干教师研修」" in body and "教师「张三」" in body
    assert "<dt>名称</dt><dd>旧名 → 新名</dd>" in body and "<dt>允许自主报名</dt><dd>否 → 是</dd>" in body
    assert "<dt>方式</dt><dd>混合式 → 网络研修</dd>" in body and "<dt>原因</dt><dd>超出辖区</dd>" in body
    assert "<dt>状态</dt><dd>待审核</dd>" in body and "<dt>推荐报名</dt><dd>是</dd>" in body
    assert "<td>成功</td>" in body and "<td>拒绝</td>" in body
    for raw in (">success<", ">refused<", "{'", "project " + str(project.pk), "user 1"):
        assert raw not in body
    # Many more rows cost no more queries.
    for n in range(30):
        audit_record(action="catalog.project_update", actor=admin, scope_path=path, object_type="project",
                     object_id=project.pk, detail={"n": n})
    with django_assert_max_num_queries(14):
        assert client.get("/audit/").status_code == 200


def test_an_object_the_viewer_may_not_see_keeps_its_number(users, province, client_for):
    project = _project(province)
    audit_record(action="catalog.project_update", actor=users["county_admin"], scope_path=province.city.path,
                 object_type="project", object_id=project.pk, detail={})
    # The city sees the event; the project is in its jurisdiction, so its title too.
    assert "杞县骨干教师研修" in client_for(users["city_admin"]).get("/audit/").content.decode()
    audit_record(action="catalog.project_update", actor=users["sibling_admin"], scope_path=province.sibling.path,
                 object_type="project", object_id=project.pk, detail={})
    body = client_for(users["sibling_admin"]).get("/audit/").content.decode()
    assert f"培训项目 #{project.pk}" in body and "杞县骨干教师研修" not in body


def test_a_teachers_history_reads_as_words(users, province, client_for):
    from access.scope import scope_for_user
    from people.services import TeacherData, teacher_update

    teacher = province.teacher
    data = TeacherData(name=teacher.name, id_number=teacher.id_number, school=teacher.school, stage="junior",
                       subjects=["math"], title="senior", hire_date=teacher.hire_date, status=teacher.status)
    before_title = teacher.get_title_display()
    teacher_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], teacher=teacher, data=data)
    body = client_for(users["county_admin"]).get(f"/teachers/{teacher.pk}/").content.decode()
    assert "变更记录" in body and "学段：" in body and "→ 初中" in body
    assert f"职称：{before_title} → 高级教师" in body and "→ 数学" in body
    assert "title:" not in body and "stage:" not in body
    log = client_for(users["county_admin"]).get("/audit/").content.decode()
    assert "学段：小学 → 初中" in log and f"职称：{before_title} → 高级教师" in log and "任教学科：" in log
    assert "primary" not in log and "junior" not in log
