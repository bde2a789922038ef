from audit.models import AuditEvent
from people.models import TeacherSubject


def test_edit_sets_main_and_other_subjects_and_audits(users, client_for, province):
    teacher = province.teacher
    client = client_for(users["county_admin"])
    form = {
        "name": "张三丰", "id_number": "", "school_code": province.school.code, "stage": "junior",
        "main_subject": "physics", "other_subjects": ["math", "physics"], "title": "senior",
        "hire_date": "2008-09-01", "status": "active", "honours": "县级骨干教师(2020-09-01~2025-08-31)",
    }
    response = client.post(f"/teachers/{teacher.pk}/edit/", form)
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert (teacher.name, teacher.stage, teacher.title) == ("张三丰", "junior", "senior")
    subjects = list(TeacherSubject.objects.dangerously_unscoped().filter(teacher=teacher).order_by("-is_main", "subject").values_list("subject", "is_main"))
    assert subjects == [("physics", True), ("math", False)]
    event = AuditEvent.objects.dangerously_unscoped().get(action="teacher.update", object_id=str(teacher.pk))
    assert event.detail["changed"]["name"] == {"before": "张三", "after": "张三丰"}
    assert teacher.id_number not in str(event.detail)  # audit holds the masked number only


def test_edit_refuses_school_outside_scope_and_bad_dates(users, client_for, province):
    teacher = province.teacher
    client = client_for(users["county_admin"])
    base = {"name": "张三", "id_number": "", "stage": "primary", "main_subject": "chinese", "title": "first",
            "status": "active", "honours": ""}
    response = client.post(f"/teachers/{teacher.pk}/edit/", {**base, "school_code": province.sibling_school.code, "hire_date": "2010-09-01"})
    assert response.status_code == 200 and "学校代码不存在或不在本辖区" in response.content.decode()
    response = client.post(f"/teachers/{teacher.pk}/edit/", {**base, "school_code": province.school.code, "hire_date": "2999-01-01"})
    assert "入职日期晚于今天" in response.content.decode()
    response = client.post(f"/teachers/{teacher.pk}/edit/", {**base, "school_code": province.school.code, "hire_date": "2010-09-01",
                                                           "honours": "县级骨干教师(2020-09-01~2019-08-31)"})
    assert "有效期应晚于认定日期" in response.content.decode()
    teacher.refresh_from_db()
    assert teacher.school == province.school and str(teacher.hire_date) == "2010-09-01"


def test_invalid_filters_show_an_error_and_never_widen_the_list(users, client_for, province):
    client = client_for(users["county_admin"])
    response = client.get("/teachers/", {"division": "410222", "stage": "primary"})  # not the admin's division
    body = response.content.decode()
    assert response.status_code == 200 and "筛选条件无效" in body
    assert province.teacher.name not in body.split('id="teachers"')[1]
    response = client.get("/teachers/roster/export/", {"format": "csv", "division": "410222"})
    assert response.status_code == 400 and "筛选条件无效" in response.content.decode()
    response = client.get("/teachers/", {"after": "abc"})
    assert "筛选条件无效" in response.content.decode()


def test_extra_post_fields_are_ignored(users, client_for, province):
    """Field rules: fields not on the form (path, index, id) cannot be written."""
    teacher = province.teacher
    before = (teacher.division_path, teacher.id_index)
    client_for(users["county_admin"]).post(f"/teachers/{teacher.pk}/edit/", {
        "name": "张三", "school_code": province.school.code, "stage": "primary", "main_subject": "chinese",
        "title": "first", "hire_date": "2010-09-01", "status": "active", "honours": "",
        "division_path": "410000.410300.410305.", "id_index": "0" * 64, "id": "1",
    })
    teacher.refresh_from_db()
    assert (teacher.division_path, teacher.id_index) == before
