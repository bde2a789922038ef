"""Build the synthetic province: institutions, schools, research communities,
teachers with subjects and honours, and the demo accounts.

Scales: S = one county (default 杞县 410221), M = one city (default 开封 410200,
which holds a 省直管县), L = the whole province at full size, or a fraction
such as 0.01 = the whole province at 1 % density (every county has data).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Role, User
from audit.actions import Action
from audit.services import audit_record
from credits.compliance import compliance_refresh_all
from credits.models import Cycle
from org.constants import InstitutionKind
from org.models import Division, Institution
from people.identity import id_blind_index, id_encrypt
from people.models import Teacher
from synth.generate import CountyGenerator, plan_counties
from synth.ledger import LEDGER_COLUMNS, SEAL_COLUMNS, TOTAL_COLUMNS, CycleInfo, LedgerGenerator
from synth.training import demo_order, training_synthesize
from synth.writer import insert_rows, next_id, reset_sequence

DEFAULT_COUNTY = "410221"
DEFAULT_CITY = "410200"
UNIVERSITIES = (("河南大学", "4101000001"), ("河南师范大学", "4107000001"), ("郑州大学", "4101000002"),
                ("信阳师范大学", "4115000001"), ("洛阳师范学院", "4103000001"))


class SynthRefused(ImproperlyConfigured):
    pass


@dataclass
class SynthResult:
    counties: int = 0
    schools: int = 0
    teachers: int = 0
    subjects: int = 0
    honours: int = 0
    communities: int = 0
    ledger_entries: int = 0
    projects: int = 0
    enrolments: int = 0
    accounts: int = 0
    statements: int = 0
    courses: int = 0
    course_enrolments: int = 0  # demo study histories for the personalised push
    accreditations: int = 0  # every implementing institution's, and a showcase of the workflow
    training_bases: int = 0
    guidance_questions: int = 0  # demo questions to the first county's expert teams
    trainers: int = 0  # the province's, the cities' and the counties' trainer pools
    trainer_bookings: int = 0  # project sessions staffed from them
    evaluated_projects: int = 0  # finished projects given assessments, ratings, visits and reviews
    assessment_responses: int = 0
    rating_responses: int = 0
    ranked_projects: int = 0  # last year's and this year's projects given a performance score and rank
    quota_allocations: int = 0  # the demo province's high-end seats allocated this year (one per level)
    supervision_visits: int = 0
    seconds: float = 0.0

    def as_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def _target_counties(scale: str, division_code: str | None) -> tuple[float, set[str] | None]:
    """(density fraction, county codes to build or None for all)."""
    label = scale.upper()
    if label == "S":
        code = division_code or DEFAULT_COUNTY
        return 1.0, {code}
    if label == "M":
        city = Division.objects.get(code=division_code or DEFAULT_CITY)
        return 1.0, set(Division.objects.filter(path__startswith=city.path, level="county").values_list("code", flat=True)) or {city.code}
    if label == "L":
        return 1.0, None
    try:
        fraction = float(scale)
    except ValueError:
        raise SynthRefused(f"未知的规模：{scale}（应为 S、M、L 或 0~1 之间的小数）") from None
    if not 0 < fraction <= 1:
        raise SynthRefused("规模比例应在 0 到 1 之间")
    return fraction, None


def _county_units() -> list[dict]:
    """County-level units: every county, plus 济源 which is city and county at once."""
    units = Division.objects.filter(level="county") | Division.objects.filter(level="city", children__isnull=True)
    return [dict(row) for row in units.order_by("code").values("id", "code", "name", "path")]


def _cycles() -> list[CycleInfo]:
    from credits.selectors import rule_set_in_force

    return [CycleInfo(c.pk, c.starts_on, c.ends_on, rule_set_in_force(c).required_hours) for c in Cycle.objects.all()]


def province_synthesize(*, scale: str, seed: int, division_code: str | None = None, with_ledger: bool = True,
                        with_training: bool = True) -> SynthResult:
    if settings.IS_PROD:
        raise SynthRefused("生产环境（YANXIU_ENV=prod）禁止生成模拟数据和演示账户")
    started = time.monotonic()
    fraction, only = _target_counties(scale, division_code)
    plans = plan_counties(_county_units(), seed=seed, fraction=fraction, only=only)
    today = timezone.localdate()
    result = SynthResult(counties=len(plans))
    _institutions(plans)
    used_ids: set[str] = set()
    cycles = _cycles() if with_ledger else []
    for plan in plans:
        with transaction.atomic():
            _county(plan, seed=seed, today=today, used_ids=used_ids, result=result, cycles=cycles)
    for table in ("org_school", "org_researchcommunity", "people_teacher", "people_teachersubject", "people_teacherhonour",
                  "credits_ledgerentry", "credits_cycletotal"):
        reset_sequence(table)
    if with_training:
        with transaction.atomic():
            training = training_synthesize(seed=seed, today=today, county_codes=[plan.code for plan in plans],
                                           cycles=cycles)
        result.projects, result.enrolments = training.projects, training.enrolments
        result.ledger_entries += training.ledger_entries
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Fresh statistics for the planner, and a visibility map so index-only scans stay index-only.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE org_school, people_teacher, people_teachersubject, people_teacherhonour, "
                           "credits_ledgerentry, credits_cycletotal, catalog_project, catalog_enrolment, catalog_attendance")
    if with_ledger:
        # The roll-up pages read the snapshot: build it now rather than on the first visit.
        compliance_refresh_all(today=today)
    result.accounts = _demo_accounts(plans)
    if with_ledger:
        _demo_claims_checked()
    if with_training:
        from synth.accreditations import accreditations_synthesize

        result.accreditations = accreditations_synthesize(seed=seed, today=today)["accreditations"]
        from synth.bases import bases_synthesize

        result.training_bases = bases_synthesize(county_codes=[plan.code for plan in plans], today=today)["bases"]
    if with_training and plans:
        from synth.learning import learning_synthesize

        result.statements = learning_synthesize(seed=seed, county_code=plans[0].code).statements
        from synth.courses import courses_synthesize

        result.courses = courses_synthesize(seed=seed, county_code=plans[0].code).courses
        from synth.push import push_synthesize

        result.course_enrolments = push_synthesize(seed=seed, county_code=plans[0].code)["enrolments"]
        from synth.guidance import guidance_synthesize

        result.guidance_questions = guidance_synthesize(seed=seed, county_code=plans[0].code)["questions"]
        from synth.pools import trainers_synthesize

        pools = trainers_synthesize(seed=seed, county_codes=[plan.code for plan in plans], today=today)
        result.trainers, result.trainer_bookings = pools["trainers"], pools["bookings"]
    if with_training:
        from synth.evaluation import evaluation_synthesize

        evaluation = evaluation_synthesize(seed=seed, today=today, county_codes=[plan.code for plan in plans])
        result.evaluated_projects, result.assessment_responses = evaluation.projects, evaluation.responses
        result.rating_responses, result.supervision_visits = evaluation.rating_responses, evaluation.visits
        result.ranked_projects = _rank_years(today)
        from synth.quotas import quotas_synthesize

        result.quota_allocations = quotas_synthesize(today=today, county_codes=[plan.code for plan in plans])["allocations"]
    from synth.funding import funding_synthesize

    funding_synthesize(seed=seed, today=today, county_codes=[plan.code for plan in plans])
    result.seconds = round(time.monotonic() - started, 2)
    audit_record(action=Action.SYNTH, scope_path="410000.", detail={"scale": scale, "seed": seed, **result.__dict__})
    return result


def _rank_years(today) -> int:
    """Last year's and this year's performance ranking, as the province computes it (so the demo
    shows ranks and a few projects flagged for elimination, awaiting appeal)."""
    from access.scope import Scope
    from evaluation.performance import ranking_compute

    province = Division.objects.filter(level="province").first()
    if province is None:
        return 0
    ranked = 0
    for year in (today.year - 1, today.year):
        try:
            ranked += ranking_compute(scope=Scope.division(province), actor=None, year=year, today=today)["ranked"]
        except ValidationError:  # no weights for the year, or cases already decided
            continue
    return ranked


def _county(plan, *, seed, today, used_ids, result: SynthResult, cycles: list[CycleInfo]) -> None:
    generator = CountyGenerator(
        plan, seed=seed, today=today, school_id_start=next_id("org_school"),
        teacher_id_start=next_id("people_teacher"), used_ids=used_ids,
    )
    schools = generator.schools()
    community_start = next_id("org_researchcommunity")
    townships = sorted({s.township for s in schools if s.is_rural})
    community_ids = {name: community_start + index for index, name in enumerate(townships)}
    chiefs: dict[str, int] = {}
    insert_rows(
        "org_school", ["id", "code", "name", "division_id", "division_path", "stages", "is_rural", "community_id"],
        ((s.id, s.code, s.name, plan.division_id, plan.path, json.dumps([s.stage]), s.is_rural,
          community_ids.get(s.township) if s.is_rural else None) for s in schools),
    )
    subjects: list[tuple] = []
    honours: list[tuple] = []
    hired: list[tuple[int, dt.date]] = []  # (teacher id, hire date) for the ledger
    school_township = {s.id: s.township for s in schools if s.is_rural}

    # Ids are read before the COPY starts: the connection is busy until it ends.
    first_subject_id, first_honour_id = next_id("people_teachersubject"), next_id("people_teacherhonour")

    def teacher_rows():
        subject_id, honour_id = first_subject_id, first_honour_id
        now = timezone.now()
        for t in generator.teachers(schools):
            for index, code in enumerate(t.subjects):
                subjects.append((subject_id, t.id, code, index == 0))
                subject_id += 1
            for title, level, awarded, expires in t.honours:
                honours.append((honour_id, t.id, title, level, awarded, expires))
                honour_id += 1
                if title == "chief_teacher" and t.school_id in school_township:
                    chiefs.setdefault(school_township[t.school_id], t.id)
            hired.append((t.id, t.hire_date))
            yield (t.id, t.name, id_encrypt(t.id_number), id_blind_index(t.id_number), t.birth_date, t.sex, t.stage,
                   t.title, t.hire_date, t.school_id, plan.path, t.status, now)

    result.teachers += insert_rows(
        "people_teacher",
        ["id", "name", "id_cipher", "id_index", "birth_date", "sex", "stage", "title", "hire_date", "school_id",
         "division_path", "status", "updated_at"],
        teacher_rows(),
    )
    result.subjects += insert_rows("people_teachersubject", ["id", "teacher_id", "subject", "is_main"], subjects)
    result.honours += insert_rows(
        "people_teacherhonour", ["id", "teacher_id", "title", "level", "awarded_on", "expires_on"], honours
    )
    if cycles:
        ledger = LedgerGenerator(seed=seed, county_code=plan.code, cycles=cycles, today=today,
                                 first_id=next_id("credits_ledgerentry"), now=timezone.now())
        result.ledger_entries += insert_rows(
            "credits_ledgerentry", LEDGER_COLUMNS,
            (row for teacher_id, hire_date in hired for row in ledger.rows(teacher_id, hire_date)),
        )
        insert_rows("credits_cycletotal", TOTAL_COLUMNS, ledger.total_rows())
        insert_rows("credits_ledgerseal", SEAL_COLUMNS, ledger.seal_rows())
    result.communities += insert_rows(
        "org_researchcommunity", ["id", "name", "division_id", "division_path", "chief_teacher_id"],
        ((community_ids[name], f"{generator.short_name}{name}乡镇教研共同体", plan.division_id, plan.path, chiefs.get(name))
         for name in townships),
    )
    result.schools += len(schools)


def _institutions(plans) -> None:
    province = Division.objects.get(level="province")
    Institution.objects.dangerously_unscoped().get_or_create(
        code="410000-YXY", defaults={"name": "河南省基础教育研修院", "kind": InstitutionKind.PROVINCIAL_INSTITUTE, "division": province}
    )
    for name, code in UNIVERSITIES:
        Institution.objects.dangerously_unscoped().get_or_create(code=code, defaults={"name": name, "kind": InstitutionKind.UNIVERSITY, "division": province})
    county_codes = {plan.code for plan in plans}
    for division in Division.objects.filter(code__in=county_codes).select_related("parent"):
        Institution.objects.dangerously_unscoped().get_or_create(
            code=f"{division.code}-JSFZ",
            defaults={"name": f"{division.name}教师发展中心", "kind": InstitutionKind.COUNTY_CENTRE, "division": division},
        )
        city = division.parent if division.level == "county" and division.parent is not None else division
        Institution.objects.dangerously_unscoped().get_or_create(
            code=f"{city.code}-JSFZ",
            defaults={"name": f"{city.name}教师发展中心", "kind": InstitutionKind.CITY_CENTRE if city.level == "city" else InstitutionKind.COUNTY_CENTRE, "division": city},
        )
        Institution.objects.dangerously_unscoped().get_or_create(
            code=f"{division.code}-PX1",
            defaults={"name": f"{division.name}明德教师培训学校", "kind": InstitutionKind.TRAINING_INSTITUTION, "division": division},
        )


def _demo_claims_checked() -> int:
    """The demo teachers' school admin has passed half of the school's pending claims on to the
    county (through the real service: decision rows, seals, audit), so the school's and the
    county's review queues both hold claims, and every pending hour is one of them."""
    from access.scope import scope_for_user
    from credits.claims import claim_school_check
    from credits.models import LedgerEntry

    teacher = User.objects.filter(username="teacher-1").select_related("teacher__school").first()
    if teacher is None or teacher.teacher is None:
        return 0
    school = teacher.teacher.school
    admin = User.objects.filter(username=f"school-{school.code}").first()
    if admin is None:
        return 0
    pending = list(LedgerEntry.objects.dangerously_unscoped()
                   .filter(teacher__school=school, source_type="claim", state="pending", school_checked_at__isnull=True)
                   .order_by("id").values_list("id", flat=True))
    for entry_id in pending[::2]:
        claim_school_check(scope=scope_for_user(admin), actor=admin, entry_id=entry_id, approve=True)
    return len(pending[::2])


def _demo_accounts(plans) -> int:
    """admin-<code> for every division, and a few schools, teachers, experts and staff."""
    if not settings.DEMO_PASSWORD:
        return 0
    password = make_password(settings.DEMO_PASSWORD)  # hashed once: same password for every demo account
    existing = set(User.objects.values_list("username", flat=True))
    accounts: list[User] = []
    role_by_level = {"province": Role.PROVINCE_ADMIN, "city": Role.CITY_ADMIN, "county": Role.COUNTY_ADMIN}
    for division in Division.objects.all():
        accounts.append(User(username=f"admin-{division.code}", role=role_by_level[division.level], division=division,
                             first_name=f"{division.name}管理员"))
    county_codes = [plan.code for plan in plans]
    from org.models import School

    for code in county_codes:
        school = School.objects.dangerously_unscoped().filter(division__code=code).order_by("code").first()
        if school:
            accounts.append(User(username=f"school-{school.code}", role=Role.SCHOOL_ADMIN, school=school,
                                 first_name=f"{school.name}管理员"))
    first_county = county_codes[0] if county_codes else None
    if first_county:
        linked = set(User.objects.filter(teacher__isnull=False).values_list("teacher_id", flat=True))
        teachers = Teacher.objects.dangerously_unscoped().filter(school__division__code=first_county, status="active").exclude(id__in=linked)
        # The demo teachers are colleagues: one school (the county's largest), whose admin, county
        # admin and city admin are printed with them, so a reviewer follows one chain of accounts.
        home_school = (teachers.values("school_id").annotate(n=Count("id")).order_by("-n", "school_id")
                       .values_list("school_id", flat=True).first())
        picked = list(teachers.filter(school_id=home_school).order_by(*demo_order(timezone.localdate()))[:5])
        if picked:
            school = picked[0].school
            accounts.append(User(username=f"school-{school.code}", role=Role.SCHOOL_ADMIN, school=school,
                                 first_name=f"{school.name}管理员"))
        for index, teacher in enumerate(picked, start=1):
            accounts.append(User(username=f"teacher-{index}", role=Role.TEACHER, teacher=teacher, first_name=teacher.name))
        experts = (
            teachers.filter(honours__title="master_teacher").exclude(id__in=[t.pk for t in picked]).distinct().order_by("id")[:3]
        )
        for index, teacher in enumerate(experts, start=1):
            accounts.append(User(username=f"expert-{index}", role=Role.EXPERT, teacher=teacher, first_name=teacher.name))
    institute = Institution.objects.dangerously_unscoped().filter(code="410000-YXY").first()
    if institute:
        accounts.append(User(username="staff-410000-yxy", role=Role.INSTITUTION_STAFF, institution=institute, first_name="研修院培训部"))
    new_accounts = list({a.username: a for a in accounts if a.username not in existing}.values())
    for account in new_accounts:
        account.password = password
    User.objects.bulk_create(new_accounts, batch_size=500)
    return len(new_accounts)
