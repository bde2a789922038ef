"""Deny by default and row scope, for every route.

6: deny by default — each page view is either public on purpose (marked
   login_not_required and on a short allowlist) or declares a policy
   (`yanxiu_policy`, set by accounts.decorators); every API operation
   authenticates; an anonymous request to anything else is sent to log-in
   (pages) or refused with 401 in JSON (API).
7: row scope — over route × persona, an account outside 通许县 (the 杞县
   county admin next door, the 洛阳 city admin, the 杞县 school admin, a 杞县
   teacher) never gets 通许县's data: 403 or 404, or a list without its rows,
   and a refused write changes nothing. Accounts whose jurisdiction covers
   通许县 get 200 and do see the data, so the absence checks can fail.
"""

import datetime as dt
import io
import json
import re

import pytest
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path

from access.scope import Scope
from accounts.decorators import admin_required, division_admin_required, scoped_view, signed_in
from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import audit_record
from catalog.models import AnnualPlan, Enrolment, Project
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from org.models import Institution
from people.models import TeacherHonour

# Page views public on purpose: the log-in page, the health and readiness checks, the
# metrics (which check their caller themselves: core.ops.views), the root redirect, the
# page a 学时证明's QR code opens (signed token, masked name) and (with DEBUG) static
# files. Nothing else may skip log-in.
PUBLIC_VIEWS = {"login_view", "healthz", "readyz", "metrics_view", "root", "certificate_verify", "serve"}
# The API description holds no data; the bare API root is no operation (404).
PUBLIC_API_ROUTES = {"api/v1/openapi.json", "api/v1/docs", "api/v1/"}
KNOWN_POLICIES = {"any-signed-in", "own-account"}
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _name(callback) -> str:
    return getattr(callback, "__name__", type(callback).__name__)


def _is_api(route: str) -> bool:
    return route.startswith("api/")


def _is_xapi(route: str) -> bool:
    """The learning-record store: machine endpoints authenticated by client credentials (lrs.http)."""
    return route.startswith("xapi/")


def policy_violations(patterns) -> list[str]:
    """Page routes that neither are public on purpose nor declare a policy."""
    problems = []
    for route, callback in _walk(patterns):
        if _is_api(route):
            continue
        if _is_xapi(route):
            if not hasattr(callback, "xapi_methods"):
                problems.append(f"{route}: an /xapi/ view not behind lrs.http.xapi_endpoint")
            continue
        public = getattr(callback, "login_required", True) is False
        policy = getattr(callback, "yanxiu_policy", None)
        if public and _name(callback) not in PUBLIC_VIEWS:
            problems.append(f"{route}: login_not_required but not on the public allowlist")
        elif not public and policy is None:
            problems.append(f"{route}: no policy")
        elif policy is not None and not (policy in KNOWN_POLICIES or isinstance(policy, frozenset) and policy <= set(Role)):
            problems.append(f"{route}: unknown policy {policy!r}")
    return problems


# --- deny by default: every route is guarded ---------------------------------------------------


def test_every_page_view_is_public_on_purpose_or_declares_a_policy():
    assert policy_violations(get_resolver().url_patterns) == []


def test_the_route_check_catches_a_view_without_a_policy():
    def forgotten(request):
        return HttpResponse("secret")

    @login_not_required
    def sneaky(request):
        return HttpResponse("secret")

    def guarded(request, scope):
        return HttpResponse("ok")

    patterns = [
        path("forgotten/", forgotten), path("sneaky/", sneaky),
        path("a/", admin_required(guarded)), path("b/", scoped_view(guarded)),
        path("c/", division_admin_required(guarded)), path("d/", signed_in(lambda request: HttpResponse("me"))),
    ]
    assert policy_violations(patterns) == [
        "forgotten/: no policy", "sneaky/: login_not_required but not on the public allowlist",
    ]


def test_public_views_are_exactly_the_allowlist():
    public = {route for route, callback in _walk(get_resolver().url_patterns)
              if not _is_api(route) and not _is_xapi(route) and getattr(callback, "login_required", True) is False}
    assert public == {"", "healthz", "readyz", "metrics", "accounts/login/", "credits/verify/<str:token>/"}


def _api_operations(callback):
    """The django-ninja operations behind one URL pattern's view."""
    for cell in getattr(callback, "__closure__", None) or ():
        operations = getattr(cell.cell_contents, "operations", None)
        if operations:
            return operations
    return []


def test_every_api_operation_authenticates():
    routes = [(route, callback) for route, callback in _walk(get_resolver().url_patterns) if _is_api(route)]
    operations = 0
    for route, callback in routes:
        if route in PUBLIC_API_ROUTES:
            continue
        found = _api_operations(callback)
        assert found, route
        for operation in found:
            operations += 1
            assert [type(auth).__name__ for auth in operation.auth_callbacks] == ["BearerToken", "SessionCookie"], route
    assert operations >= 7


def _concrete(route: str) -> str:
    route = route.replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", "1", route)


@pytest.mark.django_db
def test_anonymous_requests_are_sent_to_log_in_or_refused(client):
    checked = 0
    for route, callback in _walk(get_resolver().url_patterns):
        if _name(callback) in PUBLIC_VIEWS or route in PUBLIC_API_ROUTES:
            continue
        url = _concrete(route)
        if _is_xapi(route):
            if route == "xapi/about":  # public on purpose, as the specification asks
                continue
            for method in ("get", "post", "put", "delete"):
                body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
                response = getattr(client, method)(url, **body, HTTP_X_EXPERIENCE_API_VERSION="1.0.3")
                if response.status_code == 405:
                    continue
                assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic"), url
                checked += 1
            continue
        if _is_api(route):
            answers = [client.get(url), client.post(url, data="{}", content_type="application/json"),
                       client.delete(url), client.patch(url, data="{}", content_type="application/json")]
            # 405: the operation has no handler for that method at all.
            refused = [response for response in answers if response.status_code != 405]
            assert refused, url
            for response in refused:
                assert response.status_code == 401, url
                assert response["Content-Type"].startswith("application/json")
                assert response.json()["code"] == "unauthenticated"
            checked += len(refused)
        else:
            for response in (client.get(url), client.post(url)):
                assert response.status_code == 302, url
                assert response["Location"].startswith("/accounts/login/?next="), url
                checked += 1
    assert checked >= 2 * 20


@pytest.mark.django_db
def test_the_public_routes_answer_anonymously(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/accounts/login/").status_code == 200
    root = client.get("/")
    assert root.status_code == 302 and root["Location"] == "/home/"
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/credits/verify/not-a-certificate/").status_code == 404  # 证书无效, not a log-in redirect


# --- row scope: route × persona --------------------------------------------------------------
# The target is 通许县 (410222): its school, its teacher 李四, an audit event there.

OUTCOME_PDF = b"%PDF-1.4 the outcome of Tongxu"
OUTSIDERS = ["county_admin", "other_city_admin", "school_admin", "teacher"]
INSIDERS = ["sibling_admin", "city_admin", "province_admin"]

# (url, page roles allowed at all) — pages refuse other roles with 403 before any lookup.
ADMINS = {"county_admin", "other_city_admin", "school_admin", "sibling_admin", "city_admin", "province_admin"}
DIVISION_ADMINS = ADMINS - {"school_admin"}
EVERYONE = ADMINS | {"teacher"}

OBJECT_ROUTES = [  # one object of 通许县: outsiders 403/404
    ("/teachers/{teacher}/", EVERYONE),
    ("/teachers/{teacher}/edit/", ADMINS),
    ("/api/v1/teachers/{teacher}", EVERYONE),
    ("/api/v1/schools/{school}", EVERYONE),
    ("/api/v1/regions/410222", EVERYONE),
    ("/credits/teachers/{teacher}/", EVERYONE),
    ("/api/v1/teachers/{teacher}/credits", EVERYONE),
    ("/api/v1/teachers/{teacher}/recommendations", EVERYONE),
    ("/credits/teachers/{teacher}/certificate.pdf", EVERYONE),
    ("/credits/compliance/d/410222/", ADMINS),
    ("/credits/compliance/d/410222/?format=xlsx", ADMINS),
    ("/credits/compliance/s/{school_id}/", ADMINS),
    ("/credits/compliance/s/{school_id}/?format=xlsx", ADMINS),
    ("/api/v1/compliance?division=410222", ADMINS),
    ("/projects/{draft}/", EVERYONE),  # a draft is seen only inside its organising jurisdiction
    ("/api/v1/projects/{draft}", EVERYONE),
    # A published project is seen by everyone; running it (its enrolees, 李四) is its organiser's: 403.
    ("/projects/{project}/manage/", EVERYONE),
    ("/projects/{project}/manage/?format=xlsx", EVERYONE),
    ("/projects/{project}/edit/", DIVISION_ADMINS),
    ("/projects/{project}/completion/", EVERYONE),  # the preview of judging completion: its enrolees
    ("/api/v1/projects/{project}/completion", EVERYONE),
    ("/credits/claims/{claim}/", EVERYONE),  # 李四's claim and its history
    ("/api/v1/credits/claims/{claim}", EVERYONE),
    ("/projects/plans/{plan}/", ADMINS),  # 通许县's annual plan: its county and those above
    ("/projects/plans/{plan}/?format=xlsx", ADMINS),
    ("/api/v1/plans/{plan}", EVERYONE),
    ("/projects/{project}/dashboard/", EVERYONE),  # figures of the project for those who run it
    ("/projects/{draft}/nominate/", ADMINS),
    # 通许县's ranked nomination list for a high-end project (李四 on it): its county and those above
    ("/quotas/selection/lists/{nlist}/", DIVISION_ADMINS),
    ("/quotas/selection/lists/{nlist}/?format=xlsx", DIVISION_ADMINS),
    ("/api/v1/nomination-lists/{nlist}", DIVISION_ADMINS),
    ("/quotas/selection/rules/{rule_set}/", DIVISION_ADMINS),  # 通许县's own priority rules
    ("/api/v1/selection/rule-sets/{rule_set}", DIVISION_ADMINS),
    # 通许县's training funding: its county and those above; never a neighbour, another city or a school.
    ("/funding/?year=2026&division=410222", ADMINS),
    ("/funding/?year=2026&division=410222&format=xlsx", ADMINS),
    ("/api/v1/funding/compliance?year=2026&division=410222", ADMINS),
    ("/funding/gaps/?year=2026&division=410222", DIVISION_ADMINS),
    ("/funding/gaps/?year=2026&division=410222&format=xlsx", DIVISION_ADMINS),
    ("/api/v1/funding/gaps?year=2026&division=410222", DIVISION_ADMINS),
    ("/api/v1/funding/years?division=410222", ADMINS),
    ("/api/v1/funding/divisions/410222/figures", ADMINS),
    ("/funding/budgets/?year=2026&division=410222", DIVISION_ADMINS),
    ("/api/v1/funding/budgets?year=2026&division=410222", ADMINS),
    ("/funding/projects/?year=2026&division=410222", DIVISION_ADMINS),
    ("/api/v1/funding/projects?year=2026&division=410222", ADMINS),
    ("/funding/projects/{project}/", DIVISION_ADMINS),
    ("/api/v1/funding/projects/{project}/spend", ADMINS),
    ("/funding/spend/{spend}/evidence/", DIVISION_ADMINS),
    ("/funding/schools/?school={school}", ADMINS),
    ("/api/v1/funding/schools/{school}/figures", ADMINS),
    ("/funding/budgets/{budget}/", DIVISION_ADMINS),  # one of 通许县's direct budget entries (correct, delete)
    ("/funding/spend/{spend}/", DIVISION_ADMINS),  # one spend entry on 通许县's project (correct, evidence, delete)
    ("/projects/overview/?year=2026&division=410222", DIVISION_ADMINS),  # 通许县's year of projects
    ("/projects/overview/?year=2026&division=410222&format=xlsx", DIVISION_ADMINS),
    ("/accounts/users/{account}/reset-password/", ADMINS),  # 李四's account: its county and those above
    # Anonymous ratings of 通许县's project: its organiser's administrators (and its institution) only.
    ("/api/v1/projects/{project}/ratings/summary", EVERYONE),
    ("/evaluation/ratings/projects/{project}/windows/", ADMINS),
    # 通许县's project's performance score and its elimination case: its county and those above
    ("/evaluation/projects/{project}/score/", ADMINS),
    ("/api/v1/projects/{project}/score", ADMINS),
    ("/evaluation/cases/{case}/", ADMINS),
    # 通许县's project's 过程评价: its county and those above; outsiders see the project, not its records (403)
    ("/evaluation/supervision/projects/{project}/", ADMINS),
    ("/api/v1/projects/{project}/visits", EVERYONE),
    ("/api/v1/projects/{project}/outcome-reviews", EVERYONE),
    ("/api/v1/projects/{project}/stakeholder-ratings", EVERYONE),
    ("/api/v1/projects/{project}/supervisors", EVERYONE),
    ("/evaluation/supervision/records/outcome/{review}/file/", ADMINS),  # the file of 通许县's outcome review
    ("/api/v1/evaluation/records/outcome-reviews/{review}/file", ADMINS),
    ("/evaluation/supervision/rubrics/{rubric}/", DIVISION_ADMINS),  # 通许县's draft rubric
    ("/api/v1/rubrics/{rubric}", DIVISION_ADMINS),
    # The comparison of 通许县's project and its assessments: those who oversee it (the project is open: 403).
    ("/evaluation/projects/{project}/comparison/", ADMINS),
    ("/evaluation/projects/{project}/comparison/?format=xlsx", ADMINS),
    ("/evaluation/projects/{project}/assessments/", ADMINS),
    ("/api/v1/projects/{project}/comparison", ADMINS),
    ("/api/v1/projects/{project}/assessments", ADMINS),
    ("/evaluation/instruments/{instrument}/", ADMINS),  # 通许县's draft instrument
    ("/api/v1/instruments/{instrument}", ADMINS),
    # 通许县's high-end task, its allocation to its school: its county and those above
    ("/quotas/targets/?division=410222", DIVISION_ADMINS),
    ("/quotas/targets/?division=410222&format=xlsx", DIVISION_ADMINS),
    ("/api/v1/quotas/targets?division=410222", DIVISION_ADMINS),
    ("/api/v1/quotas/allocations?division=410222", DIVISION_ADMINS),
    ("/quotas/allocations/{allocation}/", ADMINS),
    ("/api/v1/quotas/allocations/{allocation}", ADMINS),
]
LIST_ROUTES = [  # lists: outsiders 200 (or 400 for an out-of-scope filter) without 通许县's rows
    ("/teachers/", ADMINS),
    ("/teachers/?school={school}", ADMINS),
    ("/teachers/?division=410222", ADMINS),
    ("/teachers/roster/export/?format=csv", ADMINS),
    ("/teachers/roster/export/?format=csv&division=410222", ADMINS),
    ("/teachers/roster/export/?format=csv&school={school}", ADMINS),
    ("/org/schools/", ADMINS),
    ("/org/schools/?division=410222", ADMINS),
    ("/org/divisions/", DIVISION_ADMINS),
    ("/audit/", DIVISION_ADMINS),
    ("/api/v1/teachers", EVERYONE),
    ("/api/v1/teachers?school={school}", EVERYONE),
    ("/api/v1/teachers?division=410222", EVERYONE),
    ("/api/v1/schools", EVERYONE),
    ("/api/v1/schools?division=410222", EVERYONE),
    ("/api/v1/regions", EVERYONE),
    ("/projects/plans/", ADMINS),
    ("/projects/plans/?division=410222&year=2026&level=county", ADMINS),  # pick-list filters
    ("/api/v1/plans", EVERYONE),
    ("/projects/plans/overlaps/?year=2026", DIVISION_ADMINS),
    ("/projects/library/", EVERYONE),
    ("/projects/overview/?year=2026", DIVISION_ADMINS),
    ("/projects/overview/?year=2026&format=xlsx", DIVISION_ADMINS),
    ("/institutions/registry/", DIVISION_ADMINS),  # 通许县's centre and its accreditation
    ("/institutions/registry/?division=410222", DIVISION_ADMINS),
    ("/org/divisions/?level=county", DIVISION_ADMINS),
    ("/institutions/registry/expiring/?days=366", DIVISION_ADMINS),
    ("/institutions/accreditations/", DIVISION_ADMINS),
    ("/api/v1/institutions", DIVISION_ADMINS),
    ("/api/v1/accreditations-expiring?days=366", DIVISION_ADMINS),
    ("/accounts/users/", ADMINS),
    ("/accounts/users/?q=teacher", ADMINS),
    # One's own messages and settings only: 李四's message reaches nobody else, insiders included.
    ("/notifications/", EVERYONE),
    ("/notifications/?kind=enrolment.decided&unread=1", EVERYONE),
    ("/notifications/settings/", EVERYONE),
    ("/api/v1/me/notifications", EVERYONE),
    ("/api/v1/me/notifications?kind=enrolment.decided&unread_only=true", EVERYONE),
    ("/evaluation/ratings/results/", ADMINS),  # the drill-down of the projects one oversees
    # The year's ranking and elimination cases: others' rows never show; the weights are public to admins.
    ("/evaluation/rankings/?year=2026", ADMINS),
    ("/evaluation/rankings/?year=2026&level=county&category=backbone", ADMINS),
    ("/api/v1/evaluation/rankings?year=2026", ADMINS),
    ("/evaluation/cases/", ADMINS),
    ("/api/v1/elimination-cases", ADMINS),
    ("/evaluation/weights/", ADMINS),
    ("/api/v1/evaluation/weights", ADMINS),
    ("/evaluation/supervision/rubrics/", DIVISION_ADMINS),
    ("/evaluation/supervision/rubrics/?kind=visit&state=draft", DIVISION_ADMINS),
    ("/api/v1/rubrics", DIVISION_ADMINS),
    # One's own supervisions: 通许县's administrator is named on its project; nobody else sees it there.
    ("/evaluation/supervision/mine/", DIVISION_ADMINS),
    ("/api/v1/me/supervisions", ADMINS),
    ("/evaluation/instruments/", ADMINS),  # 通许县's draft instrument: its county and those above
    # Nomination lists and priority rules: 通许县's never show elsewhere
    ("/quotas/selection/", DIVISION_ADMINS),
    ("/quotas/selection/rules/", DIVISION_ADMINS),
    ("/api/v1/selection/rule-sets", DIVISION_ADMINS),
    ("/api/v1/instruments", ADMINS),
    ("/evaluation/outcomes/", ADMINS),  # 李四's classroom-observation score: his county and those above
    ("/evaluation/outcomes/?year=2025&measure=课堂观察", ADMINS),
    ("/api/v1/teaching-outcomes", ADMINS),
    # High-end training: one's own task and children, the allocations one made or received
    ("/quotas/targets/", DIVISION_ADMINS),
    ("/quotas/targets/rates/", DIVISION_ADMINS),
    ("/quotas/allocations/", ADMINS),
    ("/api/v1/quotas/allocations/received", ADMINS),
    ("/funding/gaps/?year=2026", DIVISION_ADMINS),  # 通许县 and its school fall short: only those above see it
]


@pytest.fixture
def target(province, users):
    """通许县's data, and the strings that would show it leaked."""
    teacher = province.sibling_teacher
    TeacherHonour.objects.create(teacher=teacher, title="backbone", level="county", awarded_on="2020-09-01")
    audit_record(action=Action.ID_REVEAL, scope_path=province.sibling.path, object_type="teacher",
                 object_id=teacher.pk, detail={"name": teacher.name})
    draft, project = (project_create(institution=accredited_institution(),
        scope=Scope.division(province.sibling), actor=None, code=f"TX-{n}", title=f"通许县骨干教师研修{n}", level="county",
        category="backbone", mode="online", organiser=province.sibling, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="online", self_enrolment=True,
        needs_approval=False) for n in (1, 2))
    enrol(scope=as_teacher(teacher), project_id=publish(project).pk, teacher=teacher)
    plan = AnnualPlan.objects.create(division=province.sibling, level="county", year=2026,
                                     division_path=province.sibling.path, note="通许县年度计划说明")
    Project.objects.dangerously_unscoped().filter(pk=draft.pk).update(plan=plan)
    from institutions.tests.helpers import accredit

    centre = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre",
                                        division=province.sibling)
    accredit(centre, valid_until=dt.date(2027, 3, 1))  # in force, expiring within the year
    from notifications.services import notify

    notify(recipients=[users["sibling_teacher_user"].pk], kind="enrolment.decided",
           title=f"{teacher.name}的报名已录取：通许县骨干教师研修2", event_key="routes:1")
    from credits.constants import EntryState, SourceType
    from credits.services import ledger_entry_record

    claim, _ = ledger_entry_record(teacher=teacher, category="other", hours=2, occurred_on=dt.date(2026, 3, 2),
                                   source_type=SourceType.CLAIM, source_id="routes-claim", state=EntryState.PENDING,
                                   note="通许县教研活动")
    from evaluation.models import EliminationCase, ProjectScore, ScoreWeights

    weights = ScoreWeights.objects.create(year=2026, supervision="0.4", rating="0.2", outcome="0.2", stakeholder="0.2",
                                          bottom_share="0.1")
    case = EliminationCase.objects.create(score=ProjectScore.objects.create(
        project=project, weights=weights, year=2026, level="county", category="backbone",
        division_path=project.division_path, institution=project.institution, supervision=50.0, outcome=40.0,
        composite=-1.0, normalised=-1.0, rank=5, group_size=5, flagged=True))
    rubric = _supervision(project, users, province)
    from evaluation.instruments import instrument_create
    from evaluation.models import TeachingOutcome

    TeachingOutcome.objects.create(teacher=teacher, measure="课堂观察", year=2025, value=81.5, source="通许县教研室",
                                   division_path=teacher.division_path)

    instrument = instrument_create(scope=Scope.division(province.sibling), actor=None, kind="assessment",
                                   code="TX-ABL", title="通许县能力测评", items=[{"text": "题", "dimension": "homework"}])
    from quotas.targets import allocation_create

    allocation_create(scope=Scope.division(province.city), actor=users["city_admin"], division_code="410200",
                      year=2026, total=1)
    allocation = allocation_create(scope=Scope.division(province.sibling), actor=users["sibling_admin"],
                                   division_code="410222", year=2026, total=1)
    nlist, rule_set = _selection(province, project, teacher, users)
    spend = _funding(province, users, project)
    from evaluation.models import OutcomeReview

    review = OutcomeReview.objects.dangerously_unscoped().get(title="通许县成果评审")
    return {
        "teacher": teacher,
        "fill": {"review": review.pk, "allocation": allocation.pk, "nlist": nlist.pk, "rule_set": rule_set.pk, "spend": spend.pk,
                 **_funding_fill(province),
                 "teacher": teacher.pk, "school": province.sibling_school.code, "school_id": province.sibling_school.pk,
                 "draft": draft.pk, "project": project.pk, "plan": plan.pk, "claim": claim.pk,
                 "account": users["sibling_teacher_user"].pk, "case": case.pk, "rubric": rubric.pk,
                 "instrument": instrument.pk},
        # Any of these in a body means 通许县's data reached the viewer.
        "markers": [teacher.name, teacher.id_number, province.sibling_school.name, "通许县"],
    }


def _selection(province, project, teacher, users):
    """通许县's priority rules (v1) and its ranked nomination list with 李四 selected."""
    from quotas.selection_models import (
        NominationList,
        NominationPick,
        PriorityRule,
        PriorityRuleSet,
    )

    rule_set = PriorityRuleSet.objects.create(division=province.sibling, division_path=province.sibling.path,
                                              version=1, note="通许县试行规则", created_by=users["sibling_admin"])
    PriorityRule.objects.create(rule_set=rule_set, position=1, kind="rural", points=20)
    nlist = NominationList.objects.create(project=project, division=province.sibling,
                                          division_path=province.sibling.path, rule_set=rule_set, seats=1, reserve=0,
                                          eligible_count=1, seed=3, built_by=users["sibling_admin"])
    NominationPick.objects.create(nomination_list=nlist, teacher=teacher, rank=1, points=20, role="selected",
                                  explanation="乡村学校 +20；合计20")
    return nlist, rule_set
def _funding_fill(province) -> dict:
    """通许县's direct budget entry (made by `_funding`)."""
    from access.policy import visible
    from funding.models import TrainingBudget

    return {"budget": visible(Scope.division(province.sibling), TrainingBudget).get(purpose="通许县骨干培训经费").pk}


def _funding(province, users, project):
    """通许县's funding: payroll ¥100,000,000 at 2 % against a ¥1,000,000 budget (short), its school below
    5 %, and spend with evidence on its project. Returns the spend."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from funding import services

    scope, admin, today = Scope.division(province.sibling), users["sibling_admin"], dt.date(2026, 11, 28)
    services.payroll_set(scope=scope, actor=admin, division=province.sibling, year=2026, payroll="100000000")
    services.ratio_commit(scope=scope, actor=admin, division=province.sibling, year=2026, ratio_percent="2")
    services.budget_add(scope=scope, actor=admin, division=province.sibling, year=2026, amount="1000000",
                        purpose="通许县骨干培训经费")
    services.school_funding_set(scope=scope, actor=admin, school=province.sibling_school, year=2026,
                                public_budget="1000000", training_budget="10000")
    return services.spend_add(scope=scope, actor=admin, project_id=project.pk, amount="1200",
                              spent_on=dt.date(2026, 11, 1), note="通许县讲课费", today=today,
                              evidence=SimpleUploadedFile("通许县凭证.pdf", b"%PDF-1.4\n"))


def _supervision(project, users, province):
    """通许县's 过程评价: its administrator named supervisor with a visit and an outcome review, the
    city's stakeholder rating, 通许县's rubrics (published, and a draft). Returns the draft."""
    from evaluation.models import (
        OutcomeReview,
        Rubric,
        StakeholderRating,
        SupervisionVisit,
        Supervisor,
    )

    criteria = [{"code": "a", "label": "组织", "max": 10}]
    made = {kind: Rubric.objects.create(code=f"TX-{kind}", kind=kind, title=f"通许县{kind}量规", division=province.sibling,
                                        state="published", criteria=criteria) for kind in ("visit", "outcome", "stakeholder")}
    admin = users["sibling_admin"]
    Supervisor.objects.create(project=project, user=admin, assigned_by=admin)
    SupervisionVisit.objects.create(project=project, rubric=made["visit"], visitor=admin, visited_on=dt.date(2026, 12, 1),
                                    scores={"a": 8}, total=80, note="通许县视导意见")
    from django.core.files.base import ContentFile

    review = OutcomeReview(project=project, rubric=made["outcome"], reviewer=admin, title="通许县成果评审",
                           kind="report", scores={"a": 7}, total=70, file_name="通许县成果.pdf")
    review.file.save("outcome.pdf", ContentFile(OUTCOME_PDF), save=False)
    review.save()
    StakeholderRating.objects.create(project=project, rubric=made["stakeholder"], rater=users["city_admin"],
                                     unit_kind="city", unit_key="division:410200", unit_label="开封市教育行政部门",
                                     scores={"a": 9}, total=90, note="通许县利益方意见")
    return Rubric.objects.create(code="TX-draft", kind="visit", title="通许县过程视导量规", division=province.sibling,
                                 criteria=criteria)


def _body(response) -> str:
    """The response as text; JSON is re-dumped so escaped Chinese can be searched."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8-sig", "replace")


def _xlsx_text(response) -> str:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    return " ".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)


def _leaks(body: str, target) -> list[str]:
    return [marker for marker in target["markers"] if marker in body]


# Routes on 通许县's published project: outsiders see the project itself, so they get 403, not 404.
SEEN_NOT_RUN = ("/projects/{project}/manage/", "/projects/{project}/edit/", "/projects/{project}/dashboard/",
                "/projects/{project}/completion/", "/api/v1/projects/{project}/completion",
                "/evaluation/supervision/projects/{project}/", "/api/v1/projects/{project}/visits",
                "/api/v1/projects/{project}/outcome-reviews", "/api/v1/projects/{project}/stakeholder-ratings",
                "/api/v1/projects/{project}/supervisors",
                "/evaluation/projects/{project}/comparison/", "/evaluation/projects/{project}/assessments/",
                "/api/v1/projects/{project}/comparison",
                "/api/v1/projects/{project}/assessments")


@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize(("url", "allowed"), OBJECT_ROUTES)
def test_outsiders_get_403_or_404_for_another_countys_objects(persona, url, allowed, users, client_for, target):
    response = client_for(users[persona]).get(url.format(**target["fill"]))
    unseen = 403 if url.startswith(SEEN_NOT_RUN) else 404
    assert response.status_code == (unseen if persona in allowed else 403)
    assert _leaks(_body(response), target) == []


@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize(("url", "allowed"), LIST_ROUTES)
def test_outsiders_lists_never_hold_another_countys_rows(persona, url, allowed, users, client_for, target):
    response = client_for(users[persona]).get(url.format(**target["fill"]))
    if persona not in allowed:
        assert response.status_code == 403
    else:
        # 400: a division filter outside the viewer's scope is refused, not dropped.
        assert response.status_code in ((200, 400) if "division=" in url else (200,))
    assert _leaks(_body(response), target) == []
    if url.startswith("/api/") and response.status_code == 200:
        items = response.json() if isinstance(response.json(), list) else response.json()["items"]
        assert target["teacher"].pk not in {item.get("id") for item in items}


@pytest.mark.parametrize("persona", INSIDERS)
@pytest.mark.parametrize(("url", "allowed"), OBJECT_ROUTES + LIST_ROUTES)
def test_insiders_get_the_county(persona, url, allowed, users, client_for, target):
    response = client_for(users[persona]).get(url.format(**target["fill"]))
    assert response.status_code == 200
    body = _xlsx_text(response) if "format=xlsx" in url else _body(response)
    if "/ratings/summary" in url:
        assert response.json()["project_id"] == target["fill"]["project"] and response.json()["suppressed"]
    elif url.startswith("/evaluation/ratings/projects/"):
        assert "通许县骨干教师研修2" in body and "开设评价窗口" in body
    elif url.startswith("/evaluation/ratings/results/"):
        assert "暂无评价窗口" in body  # 通许县's projects have none yet: the tree is empty, not refused
    elif url.startswith(("/projects/{draft}", "/api/v1/projects/{draft}")):
        assert "通许县骨干教师研修1" in body
    elif url.startswith(("/evaluation/supervision/mine/", "/api/v1/me/supervisions")):
        assert ("通许县骨干教师研修2" in body) == (persona == "sibling_admin")  # one's own, not the jurisdiction's
    elif "rubrics" in url:
        assert "通许县过程视导量规" in body
    elif url.startswith("/evaluation/supervision/projects/"):
        assert "通许县视导意见" in body and "通许县成果评审" in body and "通许县利益方意见" in body
    elif url.endswith("/visits"):
        assert "通许县视导意见" in body
    elif url.endswith("/outcome-reviews"):
        assert "通许县成果评审" in body
    elif url.endswith("/stakeholder-ratings"):
        assert "通许县利益方意见" in body
    elif url.endswith("/supervisors"):
        assert "admin-410222" in body
    elif url.startswith("/evaluation/projects/{project}/comparison/"):
        assert "通许县骨干教师研修2" in body and "训前训后对比评价" in body
    elif url.startswith("/evaluation/projects/{project}/assessments/"):
        assert "通许县骨干教师研修2" in body
    elif url.startswith("/api/v1/projects/{project}/comparison"):
        assert response.json()["project_id"] == target["fill"]["project"]
    elif url.startswith("/api/v1/projects/{project}/assessments"):
        assert response.json() == []
    elif url.startswith(("/quotas/selection/rules", "/api/v1/selection/rule-sets")):
        assert "通许县" in body and "乡村学校" in body
    elif url == "/quotas/selection/":
        assert "通许县" in body and "通许县骨干教师研修2" in body
    elif url.startswith(("/evaluation/instruments/", "/api/v1/instruments")):
        assert "通许县能力测评" in body
    elif "/outcome/{review}/file/" in url or "/outcome-reviews/{review}/file" in url:
        assert body == OUTCOME_PDF.decode()
    elif url.startswith(("/evaluation/outcomes/", "/api/v1/teaching-outcomes")):
        assert target["teacher"].name in body and "通许县教研室" in body
    elif url.startswith("/projects/{project}/edit/"):
        assert "通许县骨干教师研修2" in body
    elif "funding" in url:
        if "/evidence/" in url:
            assert response["Content-Disposition"].startswith("attachment")
        else:
            assert "通许县" in body or target["fill"]["school"] in body
    elif url.startswith("/projects/overview/"):
        assert "骨干教师培训" in body  # 通许县's projects counted (counts only, no names)
    elif "/dashboard/" in url:
        assert "通许县第一小学" in body  # enrolees by school
    elif url.startswith("/projects/library/"):
        assert "category=backbone" in body  # counts only: the published project is public, the draft the county's
    elif "/plans/overlaps" in url:
        assert "未发现重叠项目" in body  # 通许县's one published project overlaps nothing
    elif "/plans" in url:
        assert "通许县" in body
        assert "通许县骨干教师研修1" in body or not url.startswith("/projects/plans/{plan}")  # the plan's project
    elif "/compliance/d/" in url or "/api/v1/compliance" in url:
        assert "通许县第一小学" in body  # a county's roll-up lists its schools
    elif "/edit/" in url:
        assert target["teacher"].name in body  # the form is filled in
    elif url.startswith(("/institutions/", "/api/v1/institutions", "/api/v1/accreditations")):
        assert "通许县教师发展中心" in body
    elif "/regions" in url or url.startswith("/org/divisions"):
        assert "通许县" in body
    elif "/schools" in url:
        assert "通许县第一小学" in body
    elif url.startswith("/api/v1/credits/claims/"):
        assert response.json()["teacher_id"] == target["teacher"].pk and response.json()["history"]
    elif url.endswith(("/credits", "/recommendations")):
        assert response.json()["teacher_id"] == target["teacher"].pk
    elif "notifications" in url:
        assert "的报名已录取" not in body  # another account's message, even under one's jurisdiction
    elif "weights" in url:
        assert "0.400" in body or "0.4" in body  # the province's weights, read by every administrator
    elif url.startswith(("/evaluation/", "/api/v1/evaluation/", "/api/v1/elimination-cases")) or url.endswith("/score"):
        assert "通许县骨干教师研修2" in body  # the project's score, rank or case
    elif url.startswith(("/quotas/targets/?division=410222", "/api/v1/quotas/targets")):
        assert "通许县" in body
    elif url.startswith("/api/v1/quotas/allocations?"):
        assert response.json()[0]["division"] == "410222"
    elif url.startswith(("/quotas/allocations/{allocation}", "/api/v1/quotas/allocations/{allocation}")):
        assert "通许县第一小学" in body  # the share 通许县 gave its school
    elif url.startswith("/api/v1/quotas/allocations/received"):
        assert ("通许县" in body) == (persona == "sibling_admin")  # what the city gave 通许县, to 通许县 only
    elif url.startswith("/quotas/allocations/"):
        assert "本单位获得的名额" in body and ("通许县" in body) == (persona == "sibling_admin")
    elif url.startswith("/quotas/targets/rates/"):
        assert "20.00" in body  # the county rate, read by every division administrator
    elif url.startswith("/quotas/"):
        assert "开封市" in body or "通许县" in body  # the city's task (the province's child) or 通许县's own
    elif url.endswith(".pdf"):
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    else:
        assert target["teacher"].name in body


EDIT = {"name": "篡改", "stage": "primary", "main_subject": "math", "title": "senior",
        "hire_date": "2011-09-01", "status": "active", "honours": ""}


def _state(teacher):
    teacher.refresh_from_db()
    return (teacher.name, teacher.title, teacher.hire_date, teacher.school_id, teacher.division_path,
            teacher.id_cipher, sorted(teacher.subject_codes), teacher.honours.count())


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_refused_writes_change_nothing(persona, users, client_for, province, target):
    teacher = target["teacher"]
    before = _state(teacher)
    audited = AuditEvent.objects.dangerously_unscoped().count()
    client = client_for(users[persona])
    response = client.post(f"/teachers/{teacher.pk}/edit/", {**EDIT, "school_code": province.sibling_school.code})
    assert response.status_code in (403, 404)
    response = client.post(f"/teachers/{teacher.pk}/edit/", {**EDIT, "school_code": province.school.code})
    assert response.status_code in (403, 404)
    response = client.post(f"/teachers/{teacher.pk}/reveal-id/")
    assert response.status_code in (403, 404)
    assert _leaks(_body(response), target) == []
    assert _state(teacher) == before
    assert AuditEvent.objects.dangerously_unscoped().count() == audited  # neither an update nor a reveal was recorded


@pytest.mark.parametrize("persona", INSIDERS)
def test_insiders_may_reveal_and_change(persona, users, client_for, province, target):
    teacher = target["teacher"]
    client = client_for(users[persona])
    response = client.post(f"/teachers/{teacher.pk}/reveal-id/")
    assert response.status_code == 200 and teacher.id_number in _body(response)
    response = client.post(f"/teachers/{teacher.pk}/edit/", {**EDIT, "school_code": province.sibling_school.code})
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.name == "篡改"


@pytest.mark.parametrize("persona", OUTSIDERS + INSIDERS)
def test_only_the_county_and_those_above_nominate_its_teachers(persona, users, client_for, province, target):
    project = publish(project_create(institution=accredited_institution(),
        scope=Scope.division(province.province), actor=users["province_admin"], code="HN-R-1", title="省级骨干研修",
        level="province", category="backbone", mode="online", organiser=province.province,
        starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="online",
        needs_approval=False))
    teacher, audited = target["teacher"], AuditEvent.objects.dangerously_unscoped().count()
    client = client_for(users[persona])
    page = client.post(f"/projects/{project.pk}/nominate/", {"teacher": [teacher.pk]})
    api = client.post(f"/api/v1/projects/{project.pk}/nominations", {"teacher_ids": [teacher.pk]},
                      content_type="application/json")
    nominated = Enrolment.objects.dangerously_unscoped().filter(project=project, teacher=teacher)
    if persona in INSIDERS:
        assert (page.status_code, api.status_code) == (200, 200)
        assert nominated.get().nominated_by_id == users[persona].pk and api.json()[0]["outcome"] == "already"
    else:
        assert page.status_code == api.status_code == (403 if persona == "teacher" else 404)
        assert _leaks(_body(page), target) == [] and _leaks(_body(api), target) == []
        assert not nominated.exists() and AuditEvent.objects.dangerously_unscoped().count() == audited


@pytest.mark.parametrize("persona", ["county_admin", "other_city_admin", "school_admin"])
def test_searching_another_countys_teacher_by_name_or_number_finds_nothing(persona, users, client_for, target):
    teacher = target["teacher"]
    for query in (teacher.name, teacher.id_number):
        for url in ("/teachers/", "/api/v1/teachers", "/teachers/roster/export/"):
            response = client_for(users[persona]).get(url, {"q": query, "format": "csv"})
            assert response.status_code == 200
            body = _body(response).replace(query, "")  # the search box and export links echo the query
            assert _leaks(body, target) == [], (url, query)
            assert f"/teachers/{teacher.pk}/" not in body
    # ... while the county's own administrator does find it both ways.
    for query in (teacher.name, teacher.id_number):
        body = _body(client_for(users["sibling_admin"]).get("/api/v1/teachers", {"q": query}))
        assert teacher.name in body


def test_a_teacher_sees_and_reveals_only_their_own_record(users, client_for, province):
    client = client_for(users["teacher"])
    own = province.teacher
    assert client.get(f"/teachers/{own.pk}/").status_code == 200
    assert own.id_number in _body(client.post(f"/teachers/{own.pk}/reveal-id/"))
    assert [item["id"] for item in client.get("/api/v1/teachers").json()["items"]] == [own.pk]
    assert client.get(f"/teachers/{own.pk}/edit/").status_code == 403  # no self-service edits


def test_school_admin_sees_only_its_school(users, client_for, province):
    """Same county, another school: the school administrator gets 404 and no rows."""
    from org.models import School
    from people.tests.factories import TeacherFactory

    other_school = School.objects.create(code="4102210002", name="杞县第二小学", division=province.county)
    neighbour = TeacherFactory(school=other_school, name="钱七")
    client = client_for(users["school_admin"])
    for url in (f"/teachers/{neighbour.pk}/", f"/teachers/{neighbour.pk}/edit/", f"/api/v1/teachers/{neighbour.pk}",
                f"/api/v1/schools/{other_school.code}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/teachers/{neighbour.pk}/reveal-id/").status_code == 404
    for url in ("/teachers/", "/api/v1/teachers", "/org/schools/", "/api/v1/schools",
                "/teachers/roster/export/?format=csv"):
        body = _body(client.get(url))
        assert "钱七" not in body and "杞县第二小学" not in body, url
        assert "张三" in body or "杞县第一小学" in body, url
    assert "钱七" in _body(client_for(users["county_admin"]).get("/teachers/"))


# --- field rules, masking, minimisation: what the API hands out ------------------------------------------------

TEACHER_KEYS = {"id", "name", "id_number_masked", "sex", "stage", "subjects", "title", "hire_date",
                "is_new_teacher", "status", "school_code", "school_name", "division_path", "honours"}
HONOUR_KEYS = {"title", "level", "label", "awarded_on", "expires_on"}


@pytest.fixture
def staff(province, make_user):
    institution = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                             division=province.county)
    return make_user("staff-1", Role.INSTITUTION_STAFF, institution=institution)


@pytest.mark.parametrize("persona", ["province_admin", "city_admin", "county_admin", "school_admin", "teacher"])
def test_teacher_json_keys_match_the_snapshot(persona, users, client_for, province):
    teacher = province.teacher
    TeacherHonour.objects.create(teacher=teacher, title="backbone", level="city", awarded_on="2021-09-01",
                                 expires_on="2026-08-31")
    data = client_for(users[persona]).get(f"/api/v1/teachers/{teacher.pk}").json()
    assert set(data) == TEACHER_KEYS
    assert [set(honour) for honour in data["honours"]] == [HONOUR_KEYS]
    assert data["id_number_masked"] == teacher.id_number[:3] + "*" * 14 + teacher.id_number[-1:]
    page = client_for(users[persona]).get("/api/v1/teachers").json()
    assert set(page) == {"items", "next_after"}
    assert all(set(item) == TEACHER_KEYS for item in page["items"]) and page["items"]


@pytest.mark.parametrize("persona", ["province_admin", "city_admin", "county_admin", "sibling_admin",
                                     "other_city_admin", "school_admin", "teacher", "staff"])
def test_no_page_or_api_response_carries_a_full_id_number(persona, users, staff, client_for, province):
    client = client_for(staff if persona == "staff" else users[persona])
    checked = []
    for teacher in (province.teacher, province.sibling_teacher, province.direct_teacher, province.other_city_teacher):
        for url in (f"/teachers/{teacher.pk}/", f"/teachers/{teacher.pk}/edit/", f"/api/v1/teachers/{teacher.pk}"):
            response = client.get(url)
            assert not FULL_ID.search(_body(response)), (persona, url)
            checked.append(response.status_code)
    for url in ("/home/", "/teachers/", "/api/v1/teachers", "/api/v1/me", "/teachers/roster/export/?format=csv",
                "/audit/"):
        assert not FULL_ID.search(_body(client.get(url))), (persona, url)
    # Searching by a number echoes what was typed into the search box, and nothing more.
    typed = province.teacher.id_number
    found = set(FULL_ID.findall(_body(client.get("/teachers/", {"q": typed}))))
    assert found <= {typed}, persona
    if persona == "staff":  # institutions never receive ID numbers, nor teacher rows
        assert set(checked) == {403, 404}
        assert client.get("/api/v1/teachers").json()["items"] == []
    else:
        assert 200 in checked


# 通许县's own tool on its draft nomination list (the search for a teacher to add): only 通许县, which
# may change the list, uses it; the city and the province read the list (above) but get 403 here;
# outsiders 403 or 404, and nothing of 通许县's reaches them.
OWNER_ONLY_ROUTES = ["/quotas/selection/lists/{nlist}/search/?q=李", "/api/v1/nomination-lists/{nlist}/candidates?q=李"]
OWNER_ONLY_REFUSED = {"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403,
                      "city_admin": 403, "province_admin": 403}


@pytest.mark.parametrize("persona", ["sibling_admin", *OWNER_ONLY_REFUSED])
@pytest.mark.parametrize("url", OWNER_ONLY_ROUTES)
def test_only_the_list_owner_searches_for_a_teacher_to_add(persona, url, users, client_for, target):
    response = client_for(users[persona]).get(url.format(**target["fill"]))
    assert response.status_code == OWNER_ONLY_REFUSED.get(persona, 200)
    if persona != "sibling_admin":
        assert _leaks(_body(response), target) == []
    assert not FULL_ID.search(_body(response))
