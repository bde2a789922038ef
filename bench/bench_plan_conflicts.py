"""Overlap check of a province-wide annual plan (issue 4): ~5,000 projects of one year,
from the province, every city and every county, checked pairwise for overlapping
audiences, dates and content. Target: under 5 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_synth \
        .venv/bin/python bench/bench_plan_conflicts.py --projects 5000

Writes the projects (and plans) inside a transaction that is rolled back at the end,
so the database is left as it was. Prints one JSON object:
- `all_pairs_s`: every pair of the 5,000 (the province's view of the whole year);
- `county_plan_s`: `plan_check` of one county's plan against the year's pool, as a
  planner's 检查重叠 button runs it (loading the pool from the database included).
"""

import argparse
import datetime as dt
import json
import random
import time

from _django import setup

SUBJECTS = ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "音乐", "体育", "美术", "信息技术", "科学"]
STAGES = {"primary": "小学", "junior": "初中", "senior": "高中", "kindergarten": "幼儿园"}
FOCUS = ["作业设计能力提升", "课堂教学能力提升", "大单元教学设计", "学科育德能力", "实验操作能力", "信息技术应用能力提升",
         "家庭教育指导", "心理健康教育", "跨学科主题学习", "新课标解读与实践", "命题与评价", "项目式学习"]
TOPICS = ["homework", "classroom", "moral_in_subject", "experiment", "it", "family", "mental_health"]
BY_LEVEL = {"province": ["master_teacher", "principal", "backbone"], "city": ["master_teacher", "backbone", "topic"],
            "county": ["new_teacher", "backbone", "all_staff", "ethics", "capability"]}
NAMES = {"master_teacher": "名师", "principal": "校长", "backbone": "骨干教师", "new_teacher": "新入职教师",
         "all_staff": "全员", "ethics": "师德师风", "capability": "教师", "topic": "教师"}


def _projects(count: int, year: int, rng: random.Random):
    from catalog.models import Project
    from org.models import Division

    divisions = list(Division.objects.exclude(level="province").order_by("code"))
    province = Division.objects.get(level="province")
    cities = [d for d in divisions if d.level == "city"]
    counties = [d for d in divisions if d.level == "county"]
    shares = [("province", [province], 0.06), ("city", cities, 0.16), ("county", counties, 0.78)]
    projects = []
    for level, organisers, share in shares:
        for n in range(round(count * share)):
            organiser = organisers[n % len(organisers)]
            category = rng.choice(BY_LEVEL[level])
            stage = rng.choice(list(STAGES))
            subject, focus = rng.choice(SUBJECTS), rng.choice(FOCUS)
            start = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(350))
            title = f"{year}年{organiser.name}{STAGES[stage]}{subject}{NAMES[category]}{focus}培训"
            outline = f"围绕{subject}{focus}，开展专题讲座、课例研讨与实践反思，提升{STAGES[stage]}{NAMES[category]}专业能力。"
            audience = {"stages": [stage]} if rng.random() < 0.8 else {}
            projects.append(Project(
                code=f"BENCH-PLAN-{level}-{n}", title=title, outline=outline, level=level, category=category,
                topics=rng.sample(TOPICS, rng.randint(0, 2)), mode="blended", organiser=organiser,
                division_path=organiser.path, audience=audience, seats=rng.randint(30, 300), hours=24,
                hour_category="centralised", starts_on=start, ends_on=start + dt.timedelta(days=rng.randint(1, 20)),
                state="open"))
    return Project.objects.bulk_create(projects, batch_size=1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--year", type=int, default=2031)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup()
    from django.db import connection, transaction

    from accounts.models import Role, User
    from catalog.conflicts import _jieba, find_overlaps
    from catalog.models import Project
    from catalog.plans import comparison_pool, plan_check, plan_create

    _jieba()  # the dictionary loads once per worker process, not per check
    with transaction.atomic():
        created = _projects(args.projects, args.year, random.Random(args.seed))
        started = time.perf_counter()
        pool = list(Project.objects.dangerously_unscoped().filter(starts_on__year=args.year).select_related("organiser").order_by("pk"))
        everything = find_overlaps(pool)
        all_pairs = time.perf_counter() - started

        county_project = next(p for p in created if p.level == "county")
        planner = User.objects.filter(role=Role.COUNTY_ADMIN, division_id=county_project.organiser_id).first() or \
            User.objects.create(username=f"bench-plan-{county_project.organiser.code}", role=Role.COUNTY_ADMIN,
                                division=county_project.organiser)
        Project.objects.dangerously_unscoped().filter(organiser_id=county_project.organiser_id, starts_on__year=args.year).update(state="draft")
        plan = plan_create(user=planner, year=args.year)
        started = time.perf_counter()
        conflicts = plan_check(plan=plan)
        county_plan = time.perf_counter() - started
        result = {
            "bench": "plan_conflicts", "database": connection.vendor, "projects": len(pool),
            "pool_for_county_plan": len(comparison_pool(plan.year, plan=plan)), "county_plan_projects": plan.projects.count(),
            "all_pairs_s": round(all_pairs, 2), "overlapping_pairs": len(everything),
            "county_plan_s": round(county_plan, 2), "county_plan_conflicts": len(conflicts), "target_s": 5,
        }
        transaction.set_rollback(True)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
