"""Pages speak the user's language: walking the main pages as each persona, the text a person
reads holds no internal code (English enum values of stages, levels, modes, states, categories)
and no "None", "True" or "False". Codes inside attributes (form values, links) are fine."""

import datetime as dt
import html
import re

import pytest

from access.scope import Scope
from catalog.services import project_create
from catalog.tests.helpers import publish
from core.tests.test_routes import LIST_ROUTES, OBJECT_ROUTES, target  # noqa: F401 (the fixture)
from institutions.tests.helpers import accredited_institution

PERSONAS = {"sibling_admin", "city_admin", "province_admin", "teacher"}
EXTRA_ROUTES = [  # pages every persona opens daily, beyond the scope walker's
    ("/home/", PERSONAS), ("/projects/", PERSONAS), ("/projects/mine/", {"teacher"}),
    ("/projects/mine/open/", {"teacher"}), ("/projects/mine/schedule/", {"teacher"}),
    ("/projects/new/", PERSONAS - {"teacher"}),
]
# Codes that a page must show as words. ("school", "teacher" and the like also appear in
# user names such as school-4102210001, so they are not listed.)
RAW = re.compile(r"(?<![\w-])(None|True|False|kindergarten|primary|junior|senior|vocational|province|county|"
                 r"centralised|online|blended|shadowing|overseas|draft|finished|enrolled|pending|withdrawn|"
                 r"backbone|new_teacher|all_staff|school_based|success|refused|approved|submitted)(?![\w-])")
PAGE_ROUTES = [(url, allowed) for url, allowed in OBJECT_ROUTES + LIST_ROUTES
               if not url.startswith("/api/") and "format=" not in url and not url.endswith(".pdf")] + EXTRA_ROUTES
PERSONA_USER = {"teacher": "sibling_teacher_user"}


def readable_text(body: str) -> str:
    """What a person reads: the page without scripts, styles, tags and attribute values."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)  # check-in codes and the like, shown as codes
    return html.unescape(re.sub(r"<[^>]*>", " ", body))


def test_the_check_finds_a_raw_code():
    assert RAW.findall(readable_text('<td>primary</td><td title="x">None</td><input value="junior">')) == [
        "primary", "None"]
    assert not RAW.findall(readable_text("<td>小学</td><a href='?level=county'>县级</a> admin-410222"))


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_pages_show_words_not_codes(persona, users, client_for, province, target):  # noqa: F811
    # A published project with every audience condition: its page states them in words, and a
    # teacher outside them reads why in words.
    project = project_create(
        institution=accredited_institution(), scope=Scope.division(province.sibling), actor=None, code="TX-AUD",
        title="通许县初中数学骨干研修", level="county", category="backbone", mode="blended", organiser=province.sibling,
        starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 3, 2), seats=5, hours=8, hour_category="online",
        self_enrolment=True, audience={"stages": ["junior"], "subjects": ["math"], "titles": ["senior"],
                                       "honours": ["backbone"], "divisions": ["410222"], "new_teachers": True})
    publish(project)
    client = client_for(users[PERSONA_USER.get(persona, persona)])
    found, read = {}, []
    audience_page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "学段：初中；学科：数学；职称：高级教师；荣誉：骨干教师；地区：通许县" in audience_page
    for route, allowed in [*PAGE_ROUTES, (f"/projects/{project.pk}/", PERSONAS)]:
        if persona not in allowed:
            continue
        url = route.format(**target["fill"])
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        read.append(url)
        raw = RAW.findall(readable_text(response.content.decode()))
        if raw:
            found[url] = sorted(set(raw))
    assert len(read) >= (6 if persona == "teacher" else 15), read  # the walk reads pages, not error pages
    assert not found


def test_chart_data_is_never_filtered_after_json_script():
    """`json_script` writes the <script> element a chart reads; a filter after it (a number
    format, say) turns the element into text and the chart draws nothing."""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    bad = [str(path.relative_to(root)) for path in root.rglob("*.html")
           if not path.relative_to(root).as_posix().startswith((".venv/", "node_modules/"))
           and re.search(r'json_script:"[^"]*"\s*\|', path.read_text(encoding="utf-8"))]
    assert bad == []
