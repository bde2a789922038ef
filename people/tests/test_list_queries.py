"""The teacher list costs a fixed number of queries however many rows it shows."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from people.tests.factories import TeacherFactory


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_page_and_api_query_counts_do_not_grow_with_rows(users, client_for, province):
    client = client_for(users["county_admin"])
    client.get("/home/")  # the first request of a session also stamps its idle timer
    few = (_count(client, "/teachers/"), _count(client, "/api/v1/teachers"))
    for _ in range(30):
        TeacherFactory(school=province.school, subjects=["math", "physics"])
    TeacherFactory(school=province.school)
    many = (_count(client, "/teachers/"), _count(client, "/api/v1/teachers"))
    assert many == few
    assert many[0] <= 12 and many[1] <= 10
    body = client.get("/teachers/?subject=physics").content.decode()
    assert body.count("物理") >= 30
