"""Demo learning records: a province course platform sending xAPI statements for teachers of
the first county, through the LRS's own storing and crediting, so the pages have something
to show (credited hours, a completion held for a decision, an unmatched learner)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from access.scope import Scope
from accounts.models import User
from lrs.clients import client_create, secret_digest
from lrs.crediting import credits_process
from lrs.keys import value_hash
from lrs.models import CreditedActivity, CreditState, LearnerIdentity, LrsClient, StatementCredit
from lrs.statements import statements_store
from org.models import Division
from people.models import Teacher

DEMO_KEY = "lrs_demo"
COURSE_BASE = "https://study.henan.example.org/course/"
COURSES = [
    ("1", "新课标背景下的大单元教学设计", "Unit design under the new curriculum", Decimal("4")),
    ("2", "课堂提问与学生思维发展", "Questioning and pupils' thinking", Decimal("3")),
    ("3", "信息技术与学科教学融合", "Technology in subject teaching", Decimal("6")),
    ("4", "班主任工作与家校沟通", "Class teacher work and parents", Decimal("2")),
    ("5", "作业设计与评价改革", "Homework design and assessment", Decimal("3")),
]
VERBS = {name: {"id": f"http://adlnet.gov/expapi/verbs/{name}", "display": {"en-US": name}}
         for name in ("launched", "progressed", "completed", "passed")}


@dataclass
class LearningResult:
    statements: int = 0
    credited: int = 0
    flagged: int = 0
    unmatched: int = 0


def _statement(actor: dict, verb: str, course: tuple, moment: dt.datetime, **extra) -> dict:
    code, name, english, _ = course
    return {"actor": actor, "verb": VERBS[verb], "timestamp": moment.isoformat(),
            "object": {"id": COURSE_BASE + code, "definition": {
                "name": {"zh-CN": name, "en-US": english},
                "type": "http://adlnet.gov/expapi/activities/course"}}, **extra}


def learning_synthesize(*, seed: int, county_code: str) -> LearningResult:
    """Idempotent: nothing happens when the demo client exists already."""
    result = LearningResult()
    if not settings.DEMO_PASSWORD or LrsClient.objects.dangerously_unscoped().filter(key=DEMO_KEY).exists():
        return result
    province = Division.objects.get(level="province")
    client, _ = client_create(scope=Scope.division(province), actor=None, name="河南省教师研修网（演示）",
                              division=province, activity_prefixes=["https://study.henan.example.org/"],
                              reads_all=True, rate_per_minute=6000)
    # A known key and the demo password as secret, so `make run` can print working credentials.
    LrsClient.objects.dangerously_unscoped().filter(pk=client.pk).update(
        key=DEMO_KEY, secret_digest=secret_digest(settings.DEMO_PASSWORD))
    client.refresh_from_db()
    for code, name, _, hours in COURSES:
        iri = COURSE_BASE + code
        CreditedActivity.objects.create(activity_iri=iri, activity_hash=value_hash(iri), title=name, hours=hours,
                                        division=province, division_path=province.path)
    rng = random.Random(f"{seed}:learning")
    now = timezone.now()
    teachers = list(Teacher.objects.dangerously_unscoped().filter(school__division__code=county_code, status="active")
                    .order_by("id")[:60])
    accounts = dict(User.objects.filter(teacher__in=teachers).values_list("teacher_id", "username"))
    identities = []
    statements: list[dict] = []
    for index, teacher in enumerate(teachers):
        if teacher.pk in accounts:  # a demo account: the platform's own user name
            actor = {"account": {"homePage": settings.LRS_ACCOUNT_HOMEPAGE, "name": accounts[teacher.pk]},
                     "name": teacher.name}
        else:  # a mailbox the teacher registered
            mbox = f"mailto:t{teacher.pk}@school.example.org"
            actor = {"mbox": mbox, "name": teacher.name}
            identities.append(LearnerIdentity(teacher=teacher, agent_key=f"mbox:{mbox}", key_hash=value_hash(f"mbox:{mbox}")))
        for course in rng.sample(COURSES, rng.randint(1, 3)):
            start = now - dt.timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8))
            statements.append(_statement(actor, "launched", course, start))
            statements.append(_statement(actor, "progressed", course, start + dt.timedelta(minutes=40),
                                         result={"extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 50}}))
            if index == 3:  # finished five minutes after starting a course of hours: held for a look
                statements.append(_statement(actor, "completed", course, start + dt.timedelta(minutes=5)))
            elif rng.random() < 0.7:
                done = start + dt.timedelta(hours=float(course[3]) * rng.uniform(0.8, 1.5))
                statements.append(_statement(actor, "passed", course, min(done, now - dt.timedelta(minutes=5)),
                                             result={"score": {"scaled": round(rng.uniform(0.6, 1), 2)}, "success": True}))
    LearnerIdentity.objects.bulk_create(identities)
    stranger = {"mbox": "mailto:unknown.learner@example.org", "name": "未登记学员"}
    statements.append(_statement(stranger, "launched", COURSES[0], now - dt.timedelta(hours=9)))
    statements.append(_statement(stranger, "completed", COURSES[0], now - dt.timedelta(hours=2)))
    scope = Scope.for_client(client)
    for offset in range(0, len(statements), 200):
        statements_store(scope=scope, client=client, statements=statements[offset:offset + 200])
    result.statements = len(statements)
    # Crediting normally runs after commit in a worker: run what is still queued here.
    queued = StatementCredit.objects.dangerously_unscoped().filter(state=CreditState.QUEUED)
    credits_process(list(queued.values_list("pk", flat=True)))
    states = StatementCredit.objects.dangerously_unscoped().values_list("state", flat=True)
    result.credited = sum(1 for state in states if state == CreditState.CREDITED)
    result.flagged = sum(1 for state in states if state == CreditState.FLAGGED)
    result.unmatched = sum(1 for state in states if state == CreditState.UNMATCHED)
    return result
