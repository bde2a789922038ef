"""Long lists: page-number pagination that keeps the filters, pick-list filters, bounded queries,
and the number filters every page uses."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from core.templatetags.yanxiu import count, hours, page_numbers, percent


def test_numbers_are_formatted_explicitly():
    assert count(12345) == "12,345" and count(0) == "0" and count(None) == "—" and count("x") == "—"
    assert hours(36) == "36.0" and hours(Decimal("1234.5")) == "1,234.5" and hours(1234.56) == "1,234.6"
    assert hours(0.05) == "0.1"  # half up, not banker's rounding
    assert percent(66.666) == "66.7%" and hours("") == "—"


def test_page_numbers_show_a_window_and_both_ends():
    assert page_numbers(1, 3) == [1, 2, 3]
    assert page_numbers(6, 11) == [1, None, 4, 5, 6, 7, 8, None, 11]


def test_the_pager_keeps_the_filters_and_drops_the_old_page():
    from django.core.paginator import Paginator

    request = RequestFactory().get("/x/", {"year": "2026", "state": "draft", "page": "2"})
    page = Paginator(list(range(120)), 50).get_page(2)
    html = Template('{% load yanxiu %}{% pager page "个计划" %}').render(Context({"request": request, "page": page}))
    assert 'href="?year=2026&amp;state=draft&amp;page=1"' in html
    assert 'href="?year=2026&amp;state=draft&amp;page=3"' in html
    assert "上一页" in html and "下一页" in html and "共 120 个计划" in html
    assert '<strong aria-current="page">2</strong>' in html


@pytest.fixture
def many_plans(province):
    from catalog.models import AnnualPlan

    divisions = [province.county, province.sibling, province.direct]
    plans = [AnnualPlan(division=division, level="county", year=year, division_path=division.path,
                        state="approved" if year % 2 else "draft")
             for division in divisions for year in range(2001, 2041)]
    AnnualPlan.objects.bulk_create(plans)
    return plans


def _plan_rows(html: str) -> list[str]:
    table = html.split('id="plans"', 1)[1].split("</table>", 1)[0]
    return [part.split("</a>", 1)[0].rsplit(">", 1)[-1] for part in table.split('href="/projects/plans/')[1:]]


def test_the_plan_list_is_paged_filtered_by_pick_lists_with_bounded_queries(
        province, users, client_for, many_plans, django_assert_max_num_queries):
    client = client_for(users["province_admin"])
    client.get("/projects/plans/")
    with django_assert_max_num_queries(14):
        first = client.get("/projects/plans/").content.decode()
    with django_assert_max_num_queries(14):
        second = client.get("/projects/plans/?page=2").content.decode()
    assert len(_plan_rows(first)) == 50 and len(_plan_rows(second)) == 50
    assert not set(_plan_rows(first)) & set(_plan_rows(second))
    assert "共 120 个计划" in first and "下一页" in first
    # Filters are selects: the years of the plans, the states, the levels, the jurisdiction's divisions.
    assert '<select name="year"' in first and '<option value="2040">' in first
    assert '<select name="division"' in first and '<option value="410222">' in first
    assert '<input type="number" name="year"' not in first.split("本辖区计划", 1)[1]
    filtered = client.get("/projects/plans/?division=410222&state=draft").content.decode()
    rows = _plan_rows(filtered)
    assert len(rows) == 20 and all(row.startswith("通许县") for row in rows)
    assert "division=410222&amp;state=draft&amp;page=" not in filtered  # one page only: no pager links
    paged = client.get("/projects/plans/?state=draft&page=1").content.decode()  # 60 drafts
    assert 'href="?state=draft&amp;page=2"' in paged and "共 60 个计划" in paged
    # A county administrator's select holds only its own county; another county is refused.
    county = client_for(users["county_admin"]).get("/projects/plans/?division=410222")
    assert county.status_code == 200 and "所选区划不在本辖区" in county.content.decode()
    assert '<option value="410222">' not in county.content.decode()
    assert all(row.startswith("杞县") for row in _plan_rows(county.content.decode()))


@pytest.fixture
def many_institutions(province):
    from org.models import Institution

    for n in range(60):  # save() fills the division path the policy reads
        Institution.objects.create(code=f"410221-T{n:03d}", name=f"杞县培训点{n:03d}", kind="county_centre",
                                   division=province.county)


def _cells(html: str, marker: str) -> set[str]:
    return {part.split("<", 1)[0] for part in html.split(marker)[1:]}


@pytest.mark.parametrize("url", ["/institutions/registry/", "/org/institutions/"])
def test_institution_lists_page_in_a_fixed_number_of_queries(url, province, users, client_for, many_institutions,
                                                             django_assert_max_num_queries):
    client = client_for(users["county_admin"])
    client.get(url)
    with django_assert_max_num_queries(14):
        first = client.get(url).content.decode()
    with django_assert_max_num_queries(14):
        second = client.get(f"{url}?page=2").content.decode()
    names, more = _cells(first, "杞县培训点"), _cells(second, "杞县培训点")
    assert len(names) == 50 and 1 <= len(more) <= 11 and not names & more
    assert "下一页" in first and "上一页" in second


PAGED = ["/projects/", "/projects/plans/", "/projects/plans/overlaps/?year=2026", "/org/schools/", "/org/divisions/",
         "/org/institutions/", "/org/communities/", "/institutions/registry/", "/institutions/registry/expiring/",
         "/institutions/accreditations/", "/institutions/bases/", "/guidance/questions/", "/guidance/teams/",
         "/guidance/problems/", "/credits/claims/", "/learning/clients/", "/learning/credited/", "/learning/credits/",
         "/trainers/", "/credits/organisers/", "/credits/compliance/d/410000/"]


@pytest.mark.parametrize("url", PAGED)
def test_every_paged_list_answers_with_the_shared_pager(url, province, users, client_for,
                                                        django_assert_max_num_queries):
    client = client_for(users["province_admin"])
    client.get(url)
    with django_assert_max_num_queries(25):
        response = client.get(url)
    assert response.status_code == 200
    assert 'class="pager"' in response.content.decode()  # 共 N 条 even on a single page
