"""What the 准入 gate adds to publishing a project (target: under 2 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_gate \\
        .venv/bin/python bench/gate_publish.py --institutions 5000 --publish 300

Needs a migrated database with the province's divisions (`yanxiu migrate`). Fills the
accreditation table with `--institutions` institutions of the province's counties, each with a
history of three rows (an expired one, a refused one, the approved one in force: the rows the gate
reads and skips), then creates `--publish` draft county projects implemented by random ones of
them (and as many school-based drafts, which the gate exempts) and times, per project, the gate
alone (`gate.refusal`, what publishing adds; also on the refusal path, dates no term covers) and
the whole publish (`project_open`: the row lock, the plan check, the gate, the update and the
audit row) of gated and of exempt drafts, whose difference is what the gate adds end to end.
Leaves its rows there (codes BENCH-GATE-*). Prints one JSON object.
"""

import argparse
import datetime as dt
import json
import random
import time
import uuid

from _django import setup


def _ms(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"p50_ms": round(samples[len(samples) // 2], 3),
            "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 3),
            "max_ms": round(samples[-1], 3), "n": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--institutions", type=int, default=5000)
    parser.add_argument("--publish", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.utils import timezone

    from access.scope import Scope
    from accounts.models import Role, User
    from catalog.services import project_create, project_open
    from institutions import gate
    from institutions.constants import SCOPE_CATEGORIES, SCOPE_LEVELS, SCOPE_MODES
    from institutions.models import Accreditation
    from org.models import Division, Institution

    rng = random.Random(args.seed)
    run = uuid.uuid4().hex[:6]
    today = timezone.localdate()
    province = Division.objects.get(level="province")
    counties = list(Division.objects.filter(level="county").order_by("code"))
    institutions = Institution.objects.bulk_create([
        Institution(code=f"BENCH-GATE-{run}-{n}", name=f"压测培训机构{n}", kind="training_institution",
                    division=(county := counties[n % len(counties)]), division_path=county.path)
        for n in range(args.institutions)])
    applicant = User.objects.create(username=f"bench-gate-staff-{run}", role=Role.INSTITUTION_STAFF,
                                    institution=institutions[0])
    reviewer, _ = User.objects.get_or_create(username="bench-gate-reviewer",
                                             defaults={"role": Role.PROVINCE_ADMIN, "division": province})
    rows = []
    for institution in institutions:
        common = {"institution": institution, "division_path": institution.division_path,
                  "accrediting_division": province, "accrediting_path": province.path, "applied_by": applicant,
                  "levels": list(SCOPE_LEVELS), "categories": list(SCOPE_CATEGORIES), "modes": list(SCOPE_MODES)}
        rows += [
            Accreditation(**common, state="expired", decided_by=reviewer, valid_from=today - dt.timedelta(days=2000),
                          valid_until=today - dt.timedelta(days=200)),
            Accreditation(**common, state="refused", decided_by=reviewer),
            Accreditation(**common, state="approved", decided_by=reviewer, valid_from=today - dt.timedelta(days=100),
                          valid_until=today + dt.timedelta(days=900))]
    Accreditation.objects.bulk_create(rows, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE institutions_accreditation")
    total_rows = Accreditation.objects.dangerously_unscoped().count()

    drafts, exempt = [], []
    for n in range(args.publish):
        county = counties[n % len(counties)]
        common = {"scope": Scope.division(county), "actor": None, "level": "county", "mode": "online",
                  "organiser": county, "starts_on": today + dt.timedelta(days=10),
                  "ends_on": today + dt.timedelta(days=12), "seats": 30, "hours": 8, "hour_category": "online"}
        drafts.append(project_create(code=f"BENCH-GATE-{run}-{n}", title=f"压测项目{n}", category="backbone",
                                     institution=rng.choice(institutions), **common))
        # School-based research is exempt: publishing it skips the gate, the baseline.
        exempt.append(project_create(code=f"BENCH-GATE-{run}-X{n}", title=f"压测校本研修{n}",
                                     category="school_based", **common))
    gate_ok, gate_refused, publish, publish_exempt = [], [], [], []
    for draft in drafts[:50]:  # warm-up, unrecorded: a serving process has run these queries before
        gate.refusal(draft, today=today, ahead=True)
    for draft in drafts:
        started = time.perf_counter()
        assert gate.refusal(draft, today=today, ahead=True) == ""
        gate_ok.append((time.perf_counter() - started) * 1000)
        late = draft.ends_on
        draft.ends_on = today + dt.timedelta(days=2000)  # past every term: refused, with the nearest row's gaps
        started = time.perf_counter()
        assert gate.refusal(draft, today=today, ahead=True)
        gate_refused.append((time.perf_counter() - started) * 1000)
        draft.ends_on = late
    for gated, free in zip(drafts, exempt, strict=True):
        for draft, samples in ((gated, publish), (free, publish_exempt)):
            started = time.perf_counter()
            project_open(scope=Scope.division(draft.organiser), actor=None, project_id=draft.pk)
            samples.append((time.perf_counter() - started) * 1000)
    whole, baseline = _ms(publish), _ms(publish_exempt)
    print(json.dumps({
        "benchmark": "gate_publish", "database": connection.vendor, "accreditation_rows": total_rows,
        "institutions": args.institutions, "gate_covered": _ms(gate_ok), "gate_refused": _ms(gate_refused),
        "publish_gated": whole, "publish_exempt": baseline,
        "publish_added_p50_ms": round(whole["p50_ms"] - baseline["p50_ms"], 3), "target_gate_p95_ms": 2.0,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
