"""Key rotation at scale: `--teachers` teachers (and one account with a mobile number per
`--mobile-every` teachers) encrypted and indexed under keys A, then the field and blind-index
keys rotated to B with A retired: `keys rotate-field`, `keys reindex`, both statuses, and a
second rotate-field (which must change nothing). Prints one JSON object: rows, seconds and
rows per second of each step.

    createdb -h 127.0.0.1 -U postgres yanxiu_keys_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_keys_bench
    .venv/bin/yanxiu migrate -v0 && .venv/bin/python bench/bench_key_rotation.py --teachers 100000

Writes into a database of its own (never a real one); keys are made up for the run.
"""

import argparse
import base64
import datetime as dt
import json
import os
import platform
import secrets
import time

from _django import setup


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--mobile-every", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    keys = {name: _key() for name in ("field_a", "index_a", "field_b", "index_b")}
    os.environ.update({"YANXIU_FIELD_KEY": keys["field_a"], "YANXIU_BLIND_INDEX_KEY": keys["index_a"]})
    setup()
    from django.db import connection
    from django.test.utils import override_settings

    from accounts.mobile import mobile_encrypt, mobile_index
    from accounts.models import Role, User
    from org.models import Division, School
    from people.identity import id_blind_index, id_check_character, id_encrypt
    from people.keys.selectors import field_key_counts, index_key_counts
    from people.keys.services import reindex, rotate_field
    from people.models import Teacher

    if Teacher.objects.dangerously_unscoped().exists():
        raise SystemExit("the bench database already has teachers: use an empty one")
    county = Division.objects.get(code="410221")
    school, _ = School.objects.dangerously_unscoped().get_or_create(code="4102219998", defaults={"name": "压测学校", "division": county})

    def number(i: int) -> str:  # unique and valid: a birth day per 500 teachers, a serial within it
        first17 = f"410221{dt.date(1970, 1, 1) + dt.timedelta(days=i // 500):%Y%m%d}{(i % 500) * 2 + 1:03d}"
        return first17 + id_check_character(first17)

    started = time.perf_counter()
    teachers = Teacher.objects.bulk_create(
        [Teacher(name=f"教师{i}", id_cipher=id_encrypt(number(i)), id_index=id_blind_index(number(i)),
                 birth_date=dt.date(1985, 1, 1), sex="M", stage="primary", hire_date=dt.date(2010, 9, 1), school=school,
                 division_path=school.division_path) for i in range(args.teachers)], batch_size=5000)
    mobiles = [f"139{i:08d}" for i in range(0, args.teachers, args.mobile_every)]
    User.objects.bulk_create([User(username=f"bench-k-{i}", role=Role.TEACHER, teacher_id=teachers[i * args.mobile_every].pk,
                                   password="!", mobile_cipher=mobile_encrypt(m), mobile_index=mobile_index(m))  # noqa: S106 - unusable
                              for i, m in enumerate(mobiles)], batch_size=5000)
    loaded = time.perf_counter() - started
    rows = args.teachers + len(mobiles)

    def step(function) -> dict:
        began = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - began
        return {"seconds": round(seconds, 1), "rows_per_second": round(rows / seconds), "result": result}

    def changed(passes) -> dict:
        return {p.column: p.changed for p in passes}

    with override_settings(FIELD_ENCRYPTION_KEY=keys["field_b"], FIELD_ENCRYPTION_KEYS_RETIRED=[keys["field_a"]],
                           BLIND_INDEX_KEY=keys["index_b"], BLIND_INDEX_KEYS_RETIRED=[keys["index_a"]],
                           INTEGRITY_KEY=keys["index_a"]):
        steps = {
            "status": step(lambda: len(field_key_counts())),
            "rotate_field": step(lambda: changed(rotate_field(batch_size=args.batch_size))),
            "rotate_field_again": step(lambda: changed(rotate_field(batch_size=args.batch_size))),
            "reindex": step(lambda: changed(reindex(batch_size=args.batch_size))),
            "status_indexes": step(lambda: {f"{c.column} {c.key_id}": c.rows for c in index_key_counts()}),
        }
    print(json.dumps({
        "bench": "key_rotation", "date": dt.datetime.now(dt.UTC).date().isoformat(), "machine": f"{platform.node()} {os.cpu_count()} CPUs",
        "database": connection.vendor, "teachers": args.teachers, "accounts_with_mobile": len(mobiles),
        "batch_size": args.batch_size, "load_seconds": round(loaded, 1), "steps": steps,
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
