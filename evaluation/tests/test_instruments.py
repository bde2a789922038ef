"""Instruments: made with items by a division's administrators, edited only as drafts, published
(frozen), copied to the next version under the same code, retired; refused writes write nothing."""

import pytest
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from audit.models import AuditEvent
from evaluation import instruments as services
from evaluation.models import Instrument, InstrumentItem
from evaluation.tests.helpers_instruments import ITEMS, instrument

pytestmark = pytest.mark.django_db


def _count() -> int:
    return Instrument.objects.dangerously_unscoped().count()


def test_create_writes_the_draft_with_numbered_items_and_an_audit_row(users):
    admin = users["county_admin"]
    row = instrument(admin, publish=False)
    assert row.state == "draft" and row.version == 1 and row.division.code == "410221"
    items = list(row.items.order_by("number"))
    assert [(i.number, i.dimension, i.reverse) for i in items] == [
        (1, "homework", False), (2, "homework", False), (3, "classroom", True), (4, "classroom", False)]
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.instrument_save", object_id=str(row.pk)).exists()


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"code": "坏 编号"}, "code", "编号由字母"),
    ({"kind": "quiz"}, "kind", "请选择类型"),
    ({"title": ""}, "title", "请填写名称"),
    ({"scale_min": 5, "scale_max": 5}, "scale_max", "量表应满足"),
    ({"scale_min": 1, "scale_max": 11}, "scale_max", "量表应满足"),
    ({"items": [{"text": "", "dimension": "homework"}]}, "items", "第1题：请填写题目"),
    ({"items": [{"text": "题", "dimension": "nonsense"}]}, "items", "第1题：请选择维度"),
])
def test_bad_input_is_a_chinese_error_and_writes_nothing(users, values, field, message):
    admin = users["county_admin"]
    data = {"kind": "assessment", "code": "QX-1", "title": "测评", "scale_min": 1, "scale_max": 5, "items": ITEMS,
            **values}
    with pytest.raises(ValidationError) as error:
        services.instrument_create(scope=scope_for_user(admin), actor=admin, **data)
    assert message in error.value.message_dict[field][0]
    assert _count() == 0 and InstrumentItem.objects.dangerously_unscoped().count() == 0


def test_a_code_is_used_once_whoever_owns_it(users):
    instrument(users["sibling_admin"], code="SHARED")
    admin = users["county_admin"]
    with pytest.raises(ValidationError) as error:
        services.instrument_create(scope=scope_for_user(admin), actor=admin, kind="assessment", code="SHARED",
                                   title="又一个", items=ITEMS)
    assert "该编号已被使用" in error.value.message_dict["code"][0]
    assert _count() == 1


def test_only_division_administrators_make_instruments(users):
    for who in ("school_admin", "teacher"):
        user = users[who]
        with pytest.raises(Forbidden):
            services.instrument_create(scope=scope_for_user(user), actor=user, kind="assessment", code="X",
                                       title="x", items=ITEMS)
    assert _count() == 0


def test_a_draft_is_edited_a_published_one_is_frozen(users):
    admin = users["county_admin"]
    scope = scope_for_user(admin)
    row = instrument(admin, publish=False)
    services.instrument_update(scope=scope, actor=admin, instrument_id=row.pk, title="新名称", scale_min=0,
                               scale_max=4, items=ITEMS[:2])
    row.refresh_from_db()
    assert (row.title, row.scale_min, row.scale_max, row.items.count()) == ("新名称", 0, 4, 2)
    services.instrument_publish(scope=scope, actor=admin, instrument_id=row.pk)
    with pytest.raises(ValidationError, match="只有草稿可以修改"):
        services.instrument_update(scope=scope, actor=admin, instrument_id=row.pk, title="再改", items=ITEMS)
    row.refresh_from_db()
    assert row.title == "新名称" and row.items.count() == 2 and row.published_at is not None


def test_publishing_needs_an_item(users):
    admin = users["county_admin"]
    row = instrument(admin, publish=False, items=[])
    with pytest.raises(ValidationError, match="至少要有一道题目"):
        services.instrument_publish(scope=scope_for_user(admin), actor=admin, instrument_id=row.pk)
    row.refresh_from_db()
    assert row.state == "draft"


def test_a_new_version_copies_items_under_the_same_code_once(users):
    admin = users["county_admin"]
    scope = scope_for_user(admin)
    first = instrument(admin)
    copy = services.instrument_new_version(scope=scope, actor=admin, instrument_id=first.pk)
    assert (copy.code, copy.version, copy.state) == (first.code, 2, "draft")
    assert list(copy.items.values_list("text", "dimension", "reverse")) == list(
        first.items.values_list("text", "dimension", "reverse"))
    with pytest.raises(ValidationError, match="已有草稿版本"):
        services.instrument_new_version(scope=scope, actor=admin, instrument_id=first.pk)
    services.instrument_update(scope=scope, actor=admin, instrument_id=copy.pk, title="第二版", items=ITEMS[:1])
    first.refresh_from_db()
    assert first.items.count() == 4 and first.state == "published"  # the published version is untouched


def test_retire_only_a_published_instrument(users):
    admin = users["county_admin"]
    scope = scope_for_user(admin)
    draft = instrument(admin, code="D", publish=False)
    with pytest.raises(ValidationError, match="只有已发布的工具可以停用"):
        services.instrument_retire(scope=scope, actor=admin, instrument_id=draft.pk)
    row = instrument(admin, code="P")
    assert services.instrument_retire(scope=scope, actor=admin, instrument_id=row.pk).state == "retired"
    # A retired instrument can still be the base of a new version.
    assert services.instrument_new_version(scope=scope, actor=admin, instrument_id=row.pk).version == 2


def test_who_may_change_an_instrument(users):
    row = instrument(users["county_admin"], publish=False)
    # The city above changes 杞县's; the county next door does not even see a draft; the province does.
    city = users["city_admin"]
    services.instrument_update(scope=scope_for_user(city), actor=city, instrument_id=row.pk, title="市改", items=ITEMS)
    sibling = users["sibling_admin"]
    with pytest.raises(NotVisible):
        services.instrument_publish(scope=scope_for_user(sibling), actor=sibling, instrument_id=row.pk)
    published = instrument(users["province_admin"], code="PUB")
    with pytest.raises(Forbidden):  # seen (published by the province above), not theirs to change
        services.instrument_retire(scope=scope_for_user(users["sibling_admin"]), actor=sibling,
                                   instrument_id=published.pk)
    row.refresh_from_db()
    assert row.title == "市改" and row.state == "draft"


# --- pages -------------------------------------------------------------------------------------

def test_list_page_shows_published_and_own_drafts_in_few_queries(users, client_for, django_assert_max_num_queries):
    county = users["county_admin"]
    for n in range(6):
        instrument(county, code=f"QX-{n}")
    instrument(users["sibling_admin"], code="TX-DRAFT", publish=False)
    client = client_for(county)
    with django_assert_max_num_queries(12):
        response = client.get("/evaluation/instruments/")
    body = response.content.decode()
    assert response.status_code == 200 and "QX-5" in body and "TX-DRAFT" not in body


def test_form_creates_edits_and_publishes(users, client_for):
    client = client_for(users["county_admin"])
    response = client.post("/evaluation/instruments/new/", {
        "code": "QX-FORM", "kind": "assessment", "title": "表单测评", "scale_min": "1", "scale_max": "5",
        "text_1": "第一题", "dimension_1": "homework", "text_2": "第二题", "dimension_2": "it", "reverse_2": "1",
        "text_3": "", "dimension_3": ""})
    row = Instrument.objects.dangerously_unscoped().get(code="QX-FORM")
    assert response.status_code == 302 and response["Location"] == f"/evaluation/instruments/{row.pk}/"
    assert list(row.items.values_list("number", "dimension", "reverse")) == [(1, "homework", False), (2, "it", True)]
    bad = client.post(f"/evaluation/instruments/{row.pk}/edit/", {"title": "", "scale_min": "1", "scale_max": "5"})
    assert bad.status_code == 400 and "请填写名称" in bad.content.decode()
    client.post(f"/evaluation/instruments/{row.pk}/publish/")
    row.refresh_from_db()
    assert row.state == "published"
    page = client.get(f"/evaluation/instruments/{row.pk}/").content.decode()
    assert "新建版本" in page and "第二题" in page
    client.post(f"/evaluation/instruments/{row.pk}/new-version/")
    assert Instrument.objects.dangerously_unscoped().filter(code="QX-FORM", version=2, state="draft").exists()


def test_pages_refuse_other_roles(users, client_for):
    row = instrument(users["county_admin"])
    assert client_for(users["teacher"]).get("/evaluation/instruments/").status_code == 403
    assert client_for(users["school_admin"]).get("/evaluation/instruments/new/").status_code == 403
    assert client_for(users["school_admin"]).post(f"/evaluation/instruments/{row.pk}/retire/").status_code == 403
    # 洛阳 (another city) sees 杞县's published instrument? Not its division or above: 404.
    assert client_for(users["other_city_admin"]).get(f"/evaluation/instruments/{row.pk}/").status_code == 404


# --- API ---------------------------------------------------------------------------------------

def test_api_create_read_publish_version(users, client_for):
    client = client_for(users["county_admin"])
    created = client.post("/api/v1/instruments", {
        "code": "QX-API", "kind": "rating", "title": "满意度", "items": [
            {"text": "内容实用", "dimension": "content"}, {"text": "总体满意", "dimension": "overall"}]},
        content_type="application/json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "draft" and [i["number"] for i in body["items"]] == [1, 2] and body["may_change"]
    pk = body["id"]
    assert client.get(f"/api/v1/instruments/{pk}").json()["item_count"] == 2
    assert client.post(f"/api/v1/instruments/{pk}/publish").json()["state"] == "published"
    version = client.post(f"/api/v1/instruments/{pk}/versions")
    assert version.status_code == 201 and version.json()["version"] == 2
    listed = client.get("/api/v1/instruments?kind=rating").json()
    assert {row["version"] for row in listed} == {1, 2}
    bad = client.post("/api/v1/instruments", {"code": "QX-API", "kind": "rating", "title": "重复", "items": []},
                      content_type="application/json")
    assert bad.status_code == 422 and "该编号已被使用" in bad.json()["errors"]["code"][0]


def test_api_refuses_teachers_and_outsiders(users, client_for):
    row = instrument(users["county_admin"], publish=False)
    assert client_for(users["teacher"]).get("/api/v1/instruments").status_code == 403
    outsider = client_for(users["sibling_admin"])
    assert outsider.get(f"/api/v1/instruments/{row.pk}").status_code == 404
    assert outsider.post(f"/api/v1/instruments/{row.pk}/publish").status_code == 404
    row.refresh_from_db()
    assert row.state == "draft"


def test_edit_page_is_filled_in_and_refuses_a_published_instrument(users, client_for):
    client = client_for(users["county_admin"])
    draft = instrument(users["county_admin"], code="QX-E", publish=False)
    page = client.get(f"/evaluation/instruments/{draft.pk}/edit/").content.decode()
    assert "我组织课堂时常常顾此失彼" in page and 'name="text_5"' in page and 'name="text_9"' in page
    published = instrument(users["county_admin"], code="QX-P")
    refused = client.get(f"/evaluation/instruments/{published.pk}/edit/")
    assert refused.status_code == 302 and refused["Location"] == f"/evaluation/instruments/{published.pk}/"



@pytest.mark.django_db
@pytest.mark.parametrize(("who", "expected"), [("county_admin", True), ("city_admin", True), ("province_admin", True),
                                               ("direct_admin", True), ("school_admin", False), ("teacher", False)])
def test_the_new_instrument_button_follows_the_policy(users, who, expected):
    assert services.may_add(scope_for_user(users[who])) is expected
