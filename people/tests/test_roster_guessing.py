"""A roster file cannot be used to test guesses of a teacher's ID number.

A row naming a teacher by 编号 with a number that is not theirs is refused ("编号与身份证号
不对应"), while their real number is accepted: so each such row answers "is this their
number?" — a search by number. It counts against the same per-account limit as every
search by number, and a file of guesses stops at the limit instead of rebuilding the number."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access.scope import scope_for_user
from accounts.throttle import Throttled
from people.models import ImportBatch
from people.tests.factories import make_id_number
from people.tests.test_roster_import import csv_bytes, row, run_import


def test_a_file_of_guesses_for_one_teacher_stops_at_the_lookup_limit(province, users, settings, client_for):
    settings.ID_LOOKUP_MAX_PER_HOUR = 5
    teacher = province.teacher
    guesses = [make_id_number(200 + n, area="410221") for n in range(12)]
    assert teacher.id_number not in guesses
    rows = [row(teacher.name, guess, province.school.code, no=str(teacher.pk)) for guess in guesses]
    admin = users["county_admin"]
    with pytest.raises(Throttled):
        run_import(scope_for_user(admin), csv_bytes(rows), actor=admin)
    batch = ImportBatch.objects.dangerously_unscoped().get()
    assert batch.state == "failed"
    # the page answers 429 for the next file, and nothing was learned about the teacher
    response = client_for(admin).post("/teachers/roster/import/",
                                      {"file": SimpleUploadedFile("again.csv", csv_bytes(rows[:1]))})
    assert response.status_code == 429


def test_an_honest_file_with_its_own_numbers_is_not_charged(province, users, settings):
    settings.ID_LOOKUP_MAX_PER_HOUR = 1
    teacher = province.teacher
    rows = [row(teacher.name, teacher.id_number, province.school.code, no=str(teacher.pk))] * 1 + [
        row(f"新教师{n}", make_id_number(300 + n, area="410221"), province.school.code) for n in range(5)]
    report = run_import(scope_for_user(users["county_admin"]), csv_bytes(rows), actor=users["county_admin"])
    assert (report.created, report.rejected) == (5, 0)
