"""Routing and assignment of a question (target under 50 ms), with a million past questions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_guidance \\
        .venv/bin/python bench/guidance_ask.py --county 410221 --fill 1000000 --asks 300

Needs a synthesised county (`yanxiu synth --scale S --division 410221`). Builds the county's demo
teams (synth/guidance.py) if it has none, fills the question table up to `--fill` rows spread over
its teams and members (90 % resolved), then asks `--asks` questions as random teachers of the
county and times, separately, routing + assignment (the school's team, its row lock, the
least-loaded member: what a question costs before its text is looked at) and the whole ask
(validation, encoding the text for instant answers, the insert and the expert's notification).
Prints one JSON object.
"""

import argparse
import datetime as dt
import json
import random
import statistics
import time

from _django import setup


def _percentiles(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2),
            "max_ms": round(samples[-1], 2), "n": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--county", default="410221")
    parser.add_argument("--fill", type=int, default=1_000_000)
    parser.add_argument("--asks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from access.scope import Scope
    from guidance import routing
    from guidance.models import GuidanceTeam, Question, TeamMember
    from guidance.questions import question_ask
    from org.models import Division
    from people.models import Teacher, TeacherSubject
    from synth.guidance import guidance_synthesize

    rng = random.Random(args.seed)
    county = Division.objects.get(code=args.county)
    guidance_synthesize(seed=args.seed, county_code=args.county)
    teams = list(GuidanceTeam.objects.dangerously_unscoped().filter(division=county))
    members = {team.pk: list(TeamMember.objects.dangerously_unscoped().filter(team=team).values_list("id", flat=True))
               for team in teams}
    combos = {(t.stage, t.subject): t for t in teams}
    askers = [(pk, stage, subject, school, path) for pk, stage, subject, school, path in
              TeacherSubject.objects.dangerously_unscoped()
              .filter(teacher__division_path=county.path, teacher__status="active", is_main=True)
              .values_list("teacher_id", "teacher__stage", "subject", "teacher__school_id", "teacher__division_path")
              if (stage, subject) in combos]
    have = Question.objects.dangerously_unscoped().count()
    filled_seconds = 0.0
    if have < args.fill:
        started = time.monotonic()
        now = timezone.now()
        batch: list[Question] = []
        for n in range(args.fill - have):
            pk, stage, subject, school, path = askers[n % len(askers)]
            team = combos[(stage, subject)]
            created = now - dt.timedelta(minutes=n % 500_000)
            resolved = n % 10 != 0
            batch.append(Question(
                teacher_id=pk, division_path=path, school_id=school, stage=stage, subject=subject,
                text=f"压测问题 {n}", team=team, assignee_id=members[team.pk][n % len(members[team.pk])],
                state="resolved" if resolved else "waiting", created_at=created,
                due_at=created + dt.timedelta(hours=48), first_answered_at=created if resolved else None,
                resolved_at=created if resolved else None))
            if len(batch) == 20_000:
                Question.objects.bulk_create(batch)
                batch = []
        Question.objects.bulk_create(batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE guidance_question")
        filled_seconds = time.monotonic() - started

    route, whole = [], []
    teachers = {t.pk: t for t in Teacher.objects.dangerously_unscoped().filter(
        pk__in={a[0] for a in askers[:5000]})}
    sample = [a for a in askers if a[0] in teachers]
    for _ in range(args.asks):
        pk, stage, subject, school, path = rng.choice(sample)
        started = time.perf_counter()
        with transaction.atomic():
            team = routing.team_for(school_id=school, school_path=path, stage=stage, subject=subject)
            locked = routing.lock_team(team.pk)
            routing.least_loaded_member(locked)
        route.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        question_ask(scope=Scope.for_teacher(teachers[pk]), user=None, subject=subject,
                     text=f"我带{rng.randint(1, 6)}年级的课，学生作业总是拖拉，怎样设计分层作业让每个学生都能完成？")
        whole.append((time.perf_counter() - started) * 1000)
    print(json.dumps({
        "database": connection.vendor, "questions": Question.objects.dangerously_unscoped().count(),
        "teams": len(teams), "fill_seconds": round(filled_seconds, 1),
        "route_and_assign": _percentiles(route), "whole_ask": _percentiles(whole),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
