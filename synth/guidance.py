"""Demo expert guidance for the first county: a team for every stage and main subject its
teachers teach (members drawn from honoured teachers, the demo experts leading their own),
the largest team paired with its schools, and two months of questions on recurring themes
(synth.questions) — most answered within hours and resolved with a rating, some still
answered-only, some waiting and a few overdue — so the expert workspace, instant answers, the
dashboard and the common problems have something real to show."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

from django.db import transaction
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from accounts.models import Role, User
from guidance import matching
from guidance.clusters import clusters_refresh
from guidance.constants import MemberRole, QuestionState
from guidance.models import GuidanceTeam, Question, QuestionMessage, TeamMember, TeamSchool
from org.constants import STAGE_LABELS
from org.models import Division, School
from people.constants import SUBJECT_LABELS
from people.models import Teacher, TeacherSubject
from synth.questions import generate_questions, themes_for

QUESTIONS_PER_TEAM = 40
TEAMS_WITH_QUESTIONS = 6
MEMBERS = 3
DAYS = 60
ROLES = (MemberRole.RESEARCH_STAFF, MemberRole.MASTER_TEACHER, MemberRole.TECH_LEAD)


def guidance_synthesize(*, seed: int, county_code: str) -> dict[str, int]:
    """Idempotent: nothing happens when the county has teams already."""
    county = Division.objects.filter(code=county_code).first()
    if county is None:
        return {"teams": 0, "questions": 0}
    scope = Scope.division(county)
    if visible(scope, GuidanceTeam).exists():
        return {"teams": 0, "questions": 0}
    rng = random.Random(seed)
    teachers = {pk: (stage, school) for pk, stage, school in visible(scope, Teacher).filter(status="active")
                .values_list("id", "stage", "school_id")}
    main = dict(visible(scope, TeacherSubject).filter(is_main=True, teacher_id__in=list(teachers))
                .values_list("teacher_id", "subject"))
    by_combo: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, (stage, _) in teachers.items():
        if pk in main:
            by_combo[(stage, main[pk])].append(pk)
    honoured = set(visible(scope, Teacher).filter(honours__isnull=False).values_list("id", flat=True))
    accounts = dict(User.objects.filter(teacher_id__in=list(teachers)).values_list("teacher_id", "role"))
    experts = {pk for pk, role in accounts.items() if role == Role.EXPERT}
    askers_with_accounts = {pk for pk, role in accounts.items() if role == Role.TEACHER}
    now = timezone.now()
    teams: dict[tuple[str, str], GuidanceTeam] = {}
    with transaction.atomic():
        for (stage, subject), members in sorted(by_combo.items(), key=lambda item: (-len(item[1]), item[0])):
            try:
                themes_for(stage, subject)
            except ValueError:
                continue  # a pair the question generator has no themes for
            # The demo teachers ask; they are not on the teams (an expert account leads its own).
            candidates = [pk for pk in members if pk not in askers_with_accounts]
            picked = sorted(candidates, key=lambda pk: (pk not in experts, pk not in honoured, pk))[:MEMBERS]
            if not picked:
                continue
            team = GuidanceTeam.objects.create(
                name=f"{county.name}{_label(stage, subject)}专家指导团队", division=county,
                division_path=county.path, stage=stage, subject=subject)
            TeamMember.objects.bulk_create([
                TeamMember(team=team, teacher_id=pk, role=ROLES[i % len(ROLES)], is_lead=i == 0)
                for i, pk in enumerate(picked)])
            teams[(stage, subject)] = team
        if teams:
            largest = next(iter(teams.values()))
            schools = {teachers[pk][1] for pk in by_combo[(largest.stage, largest.subject)]}
            TeamSchool.objects.bulk_create([
                TeamSchool(team=largest, school_id=school, stage=largest.stage, subject=largest.subject,
                           division_path=county.path) for school in sorted(schools)])
        asked = _questions(rng, teams, by_combo, teachers, askers_with_accounts, now)
    for team in list(teams.values())[:TEAMS_WITH_QUESTIONS]:
        clusters_refresh(scope=scope, division=county, stage=team.stage, subject=team.subject,
                         start=(now - dt.timedelta(days=DAYS)).date(), end=now.date(), min_cluster_size=3)
    return {"teams": len(teams), "questions": asked}


def _label(stage: str, subject: str) -> str:
    stage_label, subject_label = STAGE_LABELS[stage], SUBJECT_LABELS[subject]
    return subject_label if subject_label.startswith(stage_label) else stage_label + subject_label


def _questions(rng, teams, by_combo, teachers, with_accounts, now) -> int:
    """Questions for the largest teams and for every team a demo teacher would ask."""
    demo_combos = {combo for combo, members in by_combo.items() if with_accounts & set(members)}
    chosen = [combo for combo in teams if combo in demo_combos]
    chosen += [combo for combo in teams if combo not in demo_combos][:max(0, TEAMS_WITH_QUESTIONS - len(chosen))]
    rows: list[Question] = []
    answers: list[tuple[int, int, str, dt.datetime]] = []  # (row index, member teacher, text, when)
    loads: Counter = Counter()
    schools = dict(School.objects.dangerously_unscoped().filter(
        pk__in={school for _, school in teachers.values()}).values_list("id", "division_path"))
    for combo in chosen:
        team = teams[combo]
        members = list(team.members.order_by("id"))
        askers = [pk for pk in by_combo[combo] if pk not in {m.teacher_id for m in members}] or by_combo[combo]
        for synthetic in generate_questions(rng, combo[0], combo[1], QUESTIONS_PER_TEAM, individual_share=0.1):
            asker = rng.choice(askers)
            created = now - dt.timedelta(days=rng.uniform(0, DAYS))
            member = min(members, key=lambda m: (loads[m.pk], m.pk))
            loads[member.pk] += 1
            roll = rng.random()
            recent = (now - created) < dt.timedelta(hours=60)
            state = (QuestionState.WAITING if roll < 0.08 or (recent and roll < 0.5)
                     else QuestionState.ANSWERED if roll < 0.25 else QuestionState.RESOLVED)
            answered: dt.datetime | None = None if state == QuestionState.WAITING else min(
                now, created + dt.timedelta(hours=rng.choice((1, 2, 3, 5, 8, 12, 20, 30, 46, 60, 80))))
            resolved: dt.datetime | None = None
            if state == QuestionState.RESOLVED and answered is not None:
                resolved = min(now, answered + dt.timedelta(hours=rng.uniform(1, 48)))
            row = Question(
                teacher_id=asker, division_path=schools[teachers[asker][1]], school_id=teachers[asker][1],
                stage=combo[0], subject=combo[1], text=synthetic.text, team=team, assignee=member, state=state,
                created_at=created, due_at=created + dt.timedelta(hours=48), first_answered_at=answered,
                resolved_at=resolved,
                rating=(rng.choices((5, 4, 3, 2), weights=(50, 30, 15, 5))[0]
                        if state == QuestionState.RESOLVED and rng.random() < 0.8 else None),
                escalation=1 if state == QuestionState.WAITING and created < now - dt.timedelta(hours=48) else 0,
                escalated_at=created + dt.timedelta(hours=48) if state == QuestionState.WAITING
                and created < now - dt.timedelta(hours=48) else None)
            rows.append(row)
            if answered is not None:
                answers.append((len(rows) - 1, member.pk, synthetic.answer, answered))
    if rows:
        for row, vector in zip(rows, matching.get_matcher().encode([row.text for row in rows]), strict=True):
            row.vector = matching.to_bytes(vector)
    Question.objects.bulk_create(rows, batch_size=500)
    users = dict(User.objects.filter(teacher_id__in=list(TeamMember.objects.dangerously_unscoped().filter(
        team__in=teams.values()).values_list("teacher_id", flat=True))).values_list("teacher_id", "pk"))
    member_rows = {m.pk: m for m in TeamMember.objects.dangerously_unscoped().filter(team__in=teams.values())}
    messages = []
    for index, member_id, text, when in answers:
        author = users.get(member_rows[member_id].teacher_id)  # most members have no account in the demo
        messages.append(QuestionMessage(question=rows[index], author_id=author, is_answer=True, member_id=member_id,
                                        body=text, created_at=when))
    QuestionMessage.objects.bulk_create(messages, batch_size=500)
    return len(rows)
