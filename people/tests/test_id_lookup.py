"""Searching by a whole ID number is an audited lookup with a small limit per account, on
every path that can do it; searching by name is not. The API and pages give nothing that
narrows the masked number further."""

import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from openpyxl import load_workbook

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Enrolment
from catalog.services import project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredited_institution
from people.id_lookup import IdLookup, IdLookupRequired, teacher_id_lookup
from people.identity import id_blind_index, id_check_character, id_mask
from people.models import ExportRequest, ImportBatch, ImportRejection
from people.selectors import TeacherFilters, teacher_queryset
from people.services import ID_TAKEN_MESSAGE
from people.tests.factories import make_id_number


def _lookups():
    return AuditEvent.objects.dangerously_unscoped().filter(action="teacher.id_lookup").order_by("id")


def _text(response) -> str:
    if response["Content-Type"].startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8-sig")


def _guesses(number: str, how_many: int) -> list[str]:
    """What an attacker tries: valid numbers of the same area, birth year and sex whose mask
    is the one shown, the real number left out."""
    masked, area, year, parity = id_mask(number), number[:6], int(number[6:10]), int(number[16]) % 2
    found, day = [], dt.date(year, 1, 1)
    while len(found) < how_many:
        prefix = f"{area}{day:%Y%m%d}"
        for sequence in range(parity, 1000, 2):
            first17 = f"{prefix}{sequence:03d}"
            guess = first17 + id_check_character(first17)
            if guess != number and id_mask(guess) == masked:
                found.append(guess)
        day += dt.timedelta(days=1)
    return found[:how_many]


def test_an_enumeration_is_stopped_at_the_limit_and_every_lookup_left_one_audit_row(users, client_for, province):
    teacher, admin = province.teacher, users["county_admin"]
    number = teacher.id_number
    limit = django_settings.ID_LOOKUP_MAX_PER_HOUR
    spare = _guesses(number, limit + 2)
    guesses = spare[: limit - 1]
    guesses.insert(limit // 2, number)  # the real one, somewhere in the run
    client = client_for(admin)
    for guess in guesses:
        response = client.get("/teachers/", {"q": guess})
        assert response.status_code == 200
        assert (teacher.name in response.content.decode().split('id="teachers"')[1]) == (guess == number)
    refused = client.get("/teachers/", {"q": spare[limit]})
    assert refused.status_code == 429 and "按身份证号查询过于频繁" in refused.content.decode()
    assert client.get("/teachers/", {"q": spare[limit + 1]}).status_code == 429

    done = list(_lookups().filter(result="success"))
    assert len(done) == limit == len(guesses)
    assert [event.detail for event in done] == [{"channel": "page", "matched": guess == number} for guess in guesses]
    assert {(e.actor_id, e.ip, e.scope_path) for e in done} == {(admin.pk, "127.0.0.1", province.county.path)}
    assert [e.object_id for e in done if e.detail["matched"]] == [str(teacher.pk)]
    # The first refusal is on record, the ones after it add nothing.
    assert [e.detail["limit"] for e in _lookups().filter(result="refused")] == ["id-lookup-hour"]
    # Nothing in the log gives a number back: neither the number nor a digest to brute-force.
    for event in _lookups():
        text = json.dumps(event.detail, ensure_ascii=False) + event.object_id
        assert not re.search(r"\d{15}|[0-9a-f]{32}", text), text
        for guess in (*guesses, *spare):
            assert guess not in text and id_blind_index(guess) not in text
            assert hashlib.sha256(guess.encode()).hexdigest() not in text


@pytest.fixture
def project(province, users):
    admin = users["province_admin"]
    created = project_create(institution=accredited_institution(),
        scope=scope_for_user(admin), actor=admin, code="HN-ID-1", title="河南省小学骨干教师研修", level="province",
        category="backbone", mode="centralised", organiser=province.province, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 5), seats=2, hours=24, hour_category="centralised", self_enrolment=False,
        needs_approval=False, audience={"stages": ["primary"]},
    )
    return publish(created)


SEARCHES = {
    "page": lambda client, project, q: client.get("/teachers/", {"q": q}),
    "partial": lambda client, project, q: client.get("/teachers/", {"q": q}, HTTP_HX_REQUEST="true"),
    "api": lambda client, project, q: client.get("/api/v1/teachers", {"q": q}),
    "export": lambda client, project, q: client.get("/teachers/roster/export/", {"q": q, "format": "csv"}),
    "nominate": lambda client, project, q: client.get(f"/projects/{project.pk}/nominate/", {"q": q}),
}


@pytest.mark.parametrize("channel", sorted(SEARCHES))
def test_each_search_path_is_audited_and_limited(channel, users, client_for, province, project, settings):
    settings.ID_LOOKUP_MAX_PER_HOUR = 3
    search, client = SEARCHES[channel], client_for(users["county_admin"])
    number = province.teacher.id_number
    for _ in range(3):
        response = search(client, project, number)
        assert response.status_code == 200
        assert "张三" in _text(response)  # still finds the teacher
    refused = search(client, project, number)
    assert refused.status_code == 429
    assert "按身份证号查询过于频繁" in _text(refused)
    assert [(e.result, e.detail["channel"]) for e in _lookups()] == [("success", channel)] * 3 + [("refused", channel)]
    assert all(e.detail["matched"] for e in _lookups().filter(result="success"))
    assert {e.actor_id for e in _lookups()} == {users["county_admin"].pk}


def test_nominating_past_the_limit_still_nominates_and_shows_the_results(users, client_for, province, project, settings):
    """The search that follows a nomination is refused like any other, but the nominations
    made in the same request are not hidden behind a 429."""
    settings.ID_LOOKUP_MAX_PER_HOUR = 1
    client, number = client_for(users["county_admin"]), province.teacher.id_number
    assert client.get(f"/projects/{project.pk}/nominate/", {"q": number}).status_code == 200
    response = client.post(f"/projects/{project.pk}/nominate/", {"q": number, "teacher": [province.teacher.pk]})
    assert response.status_code == 200 and "推荐结果" in response.content.decode()
    assert Enrolment.objects.dangerously_unscoped().filter(project=project, teacher=province.teacher).exists()
    assert client.get(f"/projects/{project.pk}/nominate/", {"q": number}).status_code == 429


def test_the_limit_is_per_account_across_paths_and_per_day(users, client_for, province, project, settings):
    settings.ID_LOOKUP_MAX_PER_HOUR, settings.ID_LOOKUP_MAX_PER_DAY = 50, 4
    number = province.teacher.id_number
    client = client_for(users["county_admin"])
    for channel in ("page", "api", "export", "nominate"):
        assert SEARCHES[channel](client, project, number).status_code == 200
    assert SEARCHES["partial"](client, project, number).status_code == 429
    assert _lookups().filter(result="refused").get().detail["limit"] == "id-lookup-day"
    # Another account has its own count.
    other = client_for(users["province_admin"])
    assert SEARCHES["page"](other, project, number).status_code == 200


def test_name_searches_are_neither_counted_nor_audited(users, client_for, province, project, settings):
    settings.ID_LOOKUP_MAX_PER_HOUR = settings.ID_LOOKUP_MAX_PER_DAY = 1
    client = client_for(users["county_admin"])
    for _ in range(5):
        for channel, search in SEARCHES.items():
            response = search(client, project, "张")
            assert response.status_code == 200, channel
            assert "张三" in _text(response), channel
    # Nor is an 18-character text that is no valid number (wrong check character): it only matches names.
    number = province.teacher.id_number
    assert SEARCHES["page"](client, project, number[:17] + ("1" if number[17] != "1" else "2")).status_code == 200
    assert not _lookups().exists()
    # The names spent nothing: the one search by number allowed is still there, and only one.
    assert SEARCHES["page"](client, project, number).status_code == 200
    assert SEARCHES["api"](client, project, number).status_code == 429


def test_the_selector_refuses_a_search_by_number_without_its_audited_lookup(users, province):
    admin = users["county_admin"]
    scope, number = scope_for_user(admin), province.teacher.id_number
    with pytest.raises(IdLookupRequired):
        teacher_queryset(scope=scope, filters=TeacherFilters(q=number))
    with pytest.raises(IdLookupRequired):  # nobody else can make one
        IdLookup(scope=scope, index=id_blind_index(number), teacher_id=province.teacher.pk, mint=object())
    lookup = teacher_id_lookup(scope=scope, actor=admin, q=number, channel="page")
    assert lookup is not None
    found = teacher_queryset(scope=scope, filters=TeacherFilters(q=number, id_lookup=lookup))
    assert [t.pk for t in found] == [province.teacher.pk]
    with pytest.raises(IdLookupRequired):  # it answers for its own number only ...
        teacher_queryset(scope=scope, filters=TeacherFilters(q=province.sibling_teacher.id_number, id_lookup=lookup))
    with pytest.raises(IdLookupRequired):  # ... in its own scope only
        teacher_queryset(scope=scope_for_user(users["province_admin"]), filters=TeacherFilters(q=number, id_lookup=lookup))
    assert teacher_id_lookup(scope=scope, actor=admin, q="张三", channel="page") is None
    assert [t.pk for t in teacher_queryset(scope=scope, filters=TeacherFilters(q="张"))] == [province.teacher.pk]
    assert _lookups().count() == 1


def test_the_api_gives_no_birth_year(users, client_for, province):
    client = client_for(users["county_admin"])
    keys = {"id", "name", "id_number_masked", "sex", "stage", "subjects", "title", "hire_date", "is_new_teacher",
            "status", "school_code", "school_name", "division_path", "honours"}
    data = client.get(f"/api/v1/teachers/{province.teacher.pk}").json()
    assert set(data) == keys
    assert data["id_number_masked"] == id_mask(province.teacher.id_number) == province.teacher.id_number[:3] + "*" * 14 + province.teacher.id_number[-1]
    assert all(set(item) == keys for item in client.get("/api/v1/teachers").json()["items"])


def test_the_detail_page_shows_the_birth_year_not_the_month(users, client_for, province):
    teacher = province.teacher
    body = client_for(users["county_admin"]).get(f"/teachers/{teacher.pk}/").content.decode()
    assert f"{teacher.birth_date:%Y}年" in body
    assert f"{teacher.birth_date:%Y-%m}" not in body
    assert teacher.id_number_masked in body and teacher.id_number[3:17] not in body


def _edit_form(province, **changes):
    return {"name": "张三", "id_number": "", "school_code": province.school.code, "stage": "primary",
            "main_subject": "chinese", "title": "first", "hire_date": "2010-09-01", "status": "active",
            "honours": "", **changes}


def test_giving_a_teacher_a_new_number_is_an_audited_limited_lookup(users, client_for, province, settings):
    settings.ID_LOOKUP_MAX_PER_HOUR = 2
    teacher, client = province.teacher, client_for(users["county_admin"])
    url = f"/teachers/{teacher.pk}/edit/"
    # A number registered in another city: refused without saying where, and the lookup stays on record.
    taken = client.post(url, _edit_form(province, id_number=province.other_city_teacher.id_number))
    assert taken.status_code == 200 and ID_TAKEN_MESSAGE in taken.content.decode()
    fresh = make_id_number(7, birth=teacher.birth_date, area="410221")
    assert client.post(url, _edit_form(province, id_number=fresh)).status_code == 302
    teacher.refresh_from_db()
    assert teacher.id_number == fresh
    assert [(e.detail, e.object_id) for e in _lookups()] == [
        ({"channel": "edit", "matched": True}, str(teacher.pk)), ({"channel": "edit", "matched": False}, str(teacher.pk))]
    third = make_id_number(8, birth=teacher.birth_date, area="410221")
    assert client.post(url, _edit_form(province, id_number=third)).status_code == 429
    teacher.refresh_from_db()
    assert teacher.id_number == fresh
    # Saving without a new number looks nothing up.
    assert client.post(url, _edit_form(province, name="张三丰")).status_code == 302
    assert _lookups().filter(result="success").count() == 2


def test_an_export_found_by_number_records_no_number_and_cannot_be_requested(users, client_for, province):
    number, client = province.teacher.id_number, client_for(users["county_admin"])
    response = client.get("/teachers/roster/export/", {"q": number, "format": "csv"})
    assert response.status_code == 200 and "张三" in _text(response)
    export = AuditEvent.objects.dangerously_unscoped().get(action="roster.export")
    assert export.detail["filters"] == {"q": "（身份证号）"}
    assert number not in json.dumps(export.detail, ensure_ascii=False)
    # An approved export would keep the number in the request and its audit row: refused.
    client.post("/teachers/roster/export-requests/", {"q": number, "reason": "核对一位教师的信息", "full_ids": "1"})
    assert not ExportRequest.objects.dangerously_unscoped().exists()
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="export.request").exists()


# Where a query may filter teachers by the blind index of a number someone typed, and why;
# anywhere else must go through people.id_lookup (the selector does).
ID_INDEX_FILTERS_ALLOWED = {
    "people/id_lookup.py",  # the audited lookup itself
    "people/services.py",  # uniqueness on create / new number, counted and audited there
    "people/roster/importer.py",  # a roster import matches its rows by number
    "credits/external_import.py",  # hours imported by number, within the importer's jurisdiction
    "bench/notices_remind.py",  # builds benchmark teachers with made-up indexes; filters nothing
    "bench/bench_key_rotation.py",  # builds benchmark teachers with their indexes; filters nothing
}


def test_only_the_known_places_filter_teachers_by_id_index():
    root = Path(django_settings.BASE_DIR)
    pattern = re.compile(r"[(,]\s*id_index(__\w+)?\s*=")
    found = set()
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".venv/", "node_modules/")) or "/tests/" in relative or "/migrations/" in relative:
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            found.add(relative)
    assert found <= ID_INDEX_FILTERS_ALLOWED, found - ID_INDEX_FILTERS_ALLOWED


def test_rejections_stored_with_the_former_mask_are_downloaded_with_todays(users, client_for, province):
    admin, number = users["county_admin"], province.teacher.id_number
    batch = ImportBatch.objects.create(file_name="old.csv", file_sha256="0" * 64, actor=admin,
                                       scope_path=province.county.path, state="done", rejected=1)
    former = number[:3] + "*" * 11 + number[-4:]
    ImportRejection.objects.create(batch=batch, row_number=2, column="职称", reason="无法识别的职称：讲师",
                                   values=["", "张三", former, province.school.code])
    response = client_for(admin).get(f"/teachers/roster/import/{batch.pk}/rejections.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    row = rows[rows.index(next(r for r in rows if r and r[0] == "行号")) + 1]  # past the title lines
    assert row[5] == id_mask(number) == number[:3] + "*" * 14 + number[-1]
