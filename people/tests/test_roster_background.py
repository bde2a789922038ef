"""Large uploads are imported by the Celery task after the request commits."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from people.models import ImportBatch, Teacher
from people.roster.columns import COLUMNS
from people.tests.factories import make_id_number


def _csv(rows: list[list[str]]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_large_upload_runs_in_the_background_task(users, client_for, province, settings, django_capture_on_commit_callbacks):
    settings.ROSTER_INLINE_MAX_BYTES = 10  # every file counts as large
    number = make_id_number(401, area="410221")
    content = _csv([
        ["", "钱七", number, province.school.code, "小学", "数学", "一级教师", "2012-09-01", "在岗", ""],
        ["", "孙八", "410221198503140000", province.school.code, "小学", "数学", "一级教师", "2012-09-01", "在岗", ""],
    ])
    client = client_for(users["county_admin"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/teachers/roster/import/", {"file": SimpleUploadedFile("big.csv", content, "text/csv")})
    assert response.status_code == 302
    assert len(callbacks) == 1
    batch = ImportBatch.objects.dangerously_unscoped().get(actor=users["county_admin"])
    assert (batch.state, batch.created, batch.rejected) == ("done", 1, 1)
    assert Teacher.objects.dangerously_unscoped().filter(name="钱七", school=province.school).exists()
    # The stored upload is removed once imported; nothing is left under MEDIA_ROOT/imports.
    assert list((Path(settings.MEDIA_ROOT) / "imports").iterdir()) == []
    page = client.get(f"/teachers/roster/import/{batch.pk}/").content.decode()
    assert "身份证号校验码错误" in page
    # Another administrator cannot open this batch.
    assert client_for(users["sibling_admin"]).get(f"/teachers/roster/import/{batch.pk}/").status_code == 404


def test_small_upload_is_imported_in_the_request(users, client_for, province):
    number = make_id_number(402, area="410221")
    content = _csv([["", "周九", number, province.school.code, "初中", "物理", "二级教师", "2015-09-01", "在岗", ""]])
    response = client_for(users["county_admin"]).post(
        "/teachers/roster/import/", {"file": SimpleUploadedFile("small.csv", content, "text/csv")}, follow=True
    )
    assert response.status_code == 200 and response.redirect_chain[0][1] == 302
    assert 'id="import-report"' in response.content.decode()
    assert Teacher.objects.dangerously_unscoped().filter(name="周九").exists()
