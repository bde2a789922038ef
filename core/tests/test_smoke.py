def test_county_admin_sees_own_teacher_list(users, client_for, province):
    response = client_for(users["county_admin"]).get("/teachers/")
    assert response.status_code == 200
    body = response.content.decode()
    assert province.teacher.name in body
    assert province.sibling_teacher.name not in body


def test_home_renders_chart_for_admin(users, client_for):
    response = client_for(users["county_admin"]).get("/home/")
    assert response.status_code == 200
    assert "chart-stage-title" in response.content.decode()
