"""The comparison of a project: the paired statistics checked against hand computation and scipy,
suppression below MIN_PAIRS, the difference in differences against matched untrained peers, and
the page, chart data, Excel export (audited) and API, seen only by those who oversee the project."""

import datetime as dt
import io
import math

import pytest
from openpyxl import load_workbook
from scipy import stats

from access.scope import scope_for_user
from audit.models import AuditEvent
from evaluation import comparison as cmp
from evaluation.constants import MIN_PAIRS
from evaluation.models import ProjectInstrument, TeachingOutcome
from evaluation.tests.helpers_instruments import (
    ENDS,
    STARTS,
    enrol,
    instrument,
    project,
    scored,
    teachers,
)
from org.models import Institution

BEFORE = [3, 4, 2, 5, 3, 4]
AFTER = [4, 5, 4, 5, 4, 6]


def test_paired_statistics_match_hand_computation():
    s = cmp.paired_stats(BEFORE, AFTER)
    diffs = [1, 1, 2, 0, 1, 2]
    mean = 7 / 6
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 5)  # 0.752772…
    assert (s.n, s.mean_before, s.mean_after) == (6, 3.5, pytest.approx(14 / 3))
    assert s.change == pytest.approx(mean) and s.sd_change == pytest.approx(sd)
    assert s.d_z == pytest.approx(1.549826, abs=1e-6)  # 1.16667 / 0.75277
    assert s.g_z == pytest.approx(1.549826 * (1 - 3 / 19), abs=1e-6)  # J = 1 − 3/(4·5 − 1)
    half = 2.570582 * sd / math.sqrt(6)  # t(0.975, 5)
    assert (s.ci_low, s.ci_high) == (pytest.approx(mean - half, abs=1e-5), pytest.approx(mean + half, abs=1e-5))
    assert (s.ci_low, s.ci_high) == (pytest.approx(0.37668, abs=1e-5), pytest.approx(1.95665, abs=1e-5))
    assert s.p == pytest.approx(stats.ttest_rel(AFTER, BEFORE).pvalue) == pytest.approx(0.012677, abs=1e-6)


def test_the_interval_of_d_z_inverts_the_noncentral_t():
    s = cmp.paired_stats(BEFORE, AFTER)
    t_obs = s.d_z * math.sqrt(6)
    assert stats.nct.cdf(t_obs, 5, s.d_ci_low * math.sqrt(6)) == pytest.approx(0.975, abs=1e-6)
    assert stats.nct.cdf(t_obs, 5, s.d_ci_high * math.sqrt(6)) == pytest.approx(0.025, abs=1e-6)
    assert (s.d_ci_low, s.d_ci_high) == (pytest.approx(0.2935, abs=1e-3), pytest.approx(2.7498, abs=1e-3))
    # Close to the large-sample approximation d ± 1.96·√(1/n + d²/2n) (0.36, 2.74), and it covers d_z.
    approx = 1.96 * math.sqrt(1 / 6 + s.d_z ** 2 / 12)
    assert abs(s.d_ci_low - (s.d_z - approx)) < 0.1 and abs(s.d_ci_high - (s.d_z + approx)) < 0.05


def test_a_symmetric_case_gives_a_symmetric_interval_and_a_large_sample_matches_the_normal():
    s = cmp.paired_stats([0, 0, 0, 0, 0], [1, -1, 2, -2, 0])
    assert s.change == 0 and s.d_z == 0 and s.p == pytest.approx(1.0)
    assert s.d_ci_low == pytest.approx(-s.d_ci_high, abs=1e-8)
    big = cmp.paired_stats([0.0] * 400, [0.5 + (-1) ** i * 1.0 for i in range(400)])
    approx = 1.96 * math.sqrt(1 / 400 + big.d_z ** 2 / 800)
    assert big.d_ci_low == pytest.approx(big.d_z - approx, abs=0.01)


def test_no_spread_means_no_standardised_effect():
    s = cmp.paired_stats([1, 2, 3], [2, 3, 4])
    assert s.change == 1 and s.sd_change == 0 and s.d_z is None and s.g_z is None and s.d_ci_low is None


def test_difference_in_differences_matches_hand_computation():
    trained = {("a",): [2, 3, 4], ("b",): [1, 2]}
    controls = {("a",): [1, 1, 2, 0], ("b",): [0, 1, -1], ("c",): [9, 9, 9]}  # cell c: no trainee, unused
    estimate, low, high, t_mean, c_mean, n_t, n_c = cmp.did_effect(trained, controls)
    assert (t_mean, c_mean, n_t, n_c) == (pytest.approx(2.4), pytest.approx(0.6), 5, 7)
    assert estimate == pytest.approx(1.8)
    # var: 1.3/5 + 0.8 · (0.6²/4 + 0.4²/3); t(0.975, 4)
    se = math.sqrt(1.3 / 5 + 0.8 * (0.36 / 4 + 0.16 / 3))
    assert (low, high) == (pytest.approx(1.8 - 2.776445 * se, abs=1e-5), pytest.approx(1.8 + 2.776445 * se, abs=1e-5))


def test_difference_in_differences_is_suppressed_below_min_pairs():
    assert cmp.did_effect({("a",): [1, 2, 3, 4]}, {("a",): [0] * 10}) is None  # 4 trainees
    assert cmp.did_effect({("a",): [1, 2, 3, 4, 5]}, {("a",): [0, 1, 2, 3], ("b",): [9]}) is None  # 4 matched


def test_school_years():
    assert cmp.school_year(dt.date(2027, 3, 10)) == 2026 and cmp.school_year(dt.date(2026, 9, 1)) == 2026


# --- a project --------------------------------------------------------------------------------

@pytest.fixture
def evaluated(province, users):
    """杞县's project implemented by its centre: six trainees answered before and after (homework),
    four of them on IT too; outcome data for them and their untrained peers."""
    centre = Institution.objects.create(code="410221-C", name="杞县教师发展中心", kind="county_centre",
                                        division=province.county)
    p = project("QX-CMP", province.county, institution=centre)
    tool = instrument(users["county_admin"])
    pre = ProjectInstrument.objects.create(project=p, instrument=tool, point="pre", opens_on=STARTS - dt.timedelta(5),
                                           closes_on=STARTS)
    post = ProjectInstrument.objects.create(project=p, instrument=tool, point="post", opens_on=ENDS,
                                            closes_on=ENDS + dt.timedelta(10))
    trainees = teachers(province.school, 6)
    for n, (teacher, before, after) in enumerate(zip(trainees, BEFORE, AFTER, strict=True)):
        enrol(p, teacher, state="completed")
        scored(pre, teacher, {"homework": before, **({"it": 2.0} if n < 4 else {})})
        scored(post, teacher, {"homework": after, **({"it": 3.0 + n} if n < 4 else {})})
    # Outcomes: before 2025 and after 2027 (the project runs in school year 2026).
    peers = teachers(province.school, 5)
    senior = teachers(province.school, 1, title="senior")  # another title band: not matched
    pending = teachers(province.school, 1)
    enrol(p, pending[0], state="pending")  # enrolled, not completed: neither group
    elsewhere = teachers(province.sibling_school, 1)  # another county: not matched
    rows = []
    for teacher, change in [*zip(trainees, [5, 6, 7, 4, 6, 8], strict=True), *zip(peers, [1, 2, 0, 3, 1], strict=True),
                            (senior[0], 30), (pending[0], 40), (elsewhere[0], 50)]:
        rows += [TeachingOutcome(teacher=teacher, measure="课堂观察", year=2025, value=70.0, division_path=teacher.division_path),
                 TeachingOutcome(teacher=teacher, measure="课堂观察", year=2027, value=70.0 + change,
                                 division_path=teacher.division_path)]
    TeachingOutcome.objects.bulk_create(rows)
    return p, centre


@pytest.mark.django_db
def test_project_comparison_pairs_and_suppresses(evaluated, users):
    p, _ = evaluated
    result = cmp.project_comparison(scope_for_user(users["county_admin"]), p.pk)
    assert result.points == ["pre", "post"]
    rows = {row.dimension: row for row in result.rows}
    assert rows["homework"].stats == cmp.paired_stats(BEFORE, AFTER)
    assert rows["it"].n == 4 < MIN_PAIRS and rows["it"].stats is None and "样本不足" in rows["it"].reason
    (did,) = result.did
    assert (did.measure, did.before_year, did.after_year, did.n_trained, did.n_controls) == ("课堂观察", 2025, 2027, 6, 5)
    assert did.trained_change == pytest.approx(6.0) and did.control_change == pytest.approx(1.4)
    assert did.estimate == pytest.approx(4.6)
    assert did.ci_low < 4.6 < did.ci_high
    chart = cmp.chart_spec(result)
    assert chart["labels"] == ["作业设计能力"] and chart["before"] == [3.5] and chart["after"] == [4.667]


@pytest.mark.django_db
def test_comparison_page_export_and_api(evaluated, users, client_for, django_assert_max_num_queries):
    p, _ = evaluated
    client = client_for(users["county_admin"])
    with django_assert_max_num_queries(14):
        page = client.get(f"/evaluation/projects/{p.pk}/comparison/")
    body = page.content.decode()
    assert page.status_code == 200 and "作业设计能力" in body and "样本不足" in body and "1.55" in body
    assert 'id="comparison-data"' in body and "comparison_chart.js" in body and "<script>" not in body
    export = client.get(f"/evaluation/projects/{p.pk}/comparison/?format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content)), read_only=True).worksheets[0]
    text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
    assert "作业设计能力" in text and "1.55" in text and "样本不足" in text
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.comparison_export",
                                                             object_id=str(p.pk)).exists()
    api = client.get(f"/api/v1/projects/{p.pk}/comparison").json()
    homework = next(row for row in api["rows"] if row["dimension"] == "homework")
    assert homework["d_z"] == pytest.approx(1.549826, abs=1e-6) and homework["suppressed"] is False
    it = next(row for row in api["rows"] if row["dimension"] == "it")
    assert it["suppressed"] is True and it["d_z"] is None and it["mean_before"] is None
    assert api["did"][0]["estimate"] == pytest.approx(4.6)


@pytest.mark.django_db
def test_only_who_oversees_the_project_sees_the_comparison(evaluated, users, client_for, make_user):
    p, centre = evaluated
    url, api = f"/evaluation/projects/{p.pk}/comparison/", f"/api/v1/projects/{p.pk}/comparison"
    for who in ("city_admin", "province_admin"):
        assert client_for(users[who]).get(url).status_code == 200
    staff = make_user("staff-c", "institution_staff", institution=centre)
    seen = client_for(staff).get(api)
    assert seen.status_code == 200 and seen.json()["did"] == []  # the institution reads no teacher's outcomes
    # The county next door and the school see the open project but do not oversee it; teachers have no page.
    for who in ("sibling_admin", "school_admin"):
        assert client_for(users[who]).get(url).status_code == 403
        assert client_for(users[who]).get(api).status_code == 403
    assert client_for(users["teacher"]).get(url).status_code == 403
    assert client_for(users["teacher"]).get(api).status_code == 403
