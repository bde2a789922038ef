"""`make bench`: every benchmark once, at a quick scale, against local PostgreSQL.

Builds its own databases (dropped and re-created: yanxiu_bench_quick for the
synthesised province, yanxiu_bench_roster for the roster import), runs each
script and prints one JSON object per line. The figures in docs/PERFORMANCE.md
come from the same scripts at the issues' scales (the commands are there);
this is the smoke run that keeps them working.

    .venv/bin/python bench/run_all.py [--scale 0.05] [--server postgres://postgres@127.0.0.1:5432]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="0.05")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    quick = {**os.environ, "DATABASE_URL": f"{args.server}/yanxiu_bench_quick"}
    roster = {**os.environ, "DATABASE_URL": f"{args.server}/yanxiu_bench_roster"}
    runs = [
        (["bench_synth.py", "--scale", args.scale, "--database", "yanxiu_bench_quick", "--server", args.server], quick),
        (["bench_teacher_list.py", "--repeat", "20"], quick),
        (["bench_enrol.py", "--requests", "200", "--seats", "20"], quick),
        (["bench_plan_conflicts.py", "--projects", "5000"], quick),
        (["bench_roster_import.py", "--rows", "20000"], roster),
    ]
    failed = 0
    for command, env in runs:
        started = time.perf_counter()
        done = subprocess.run([PYTHON, str(ROOT / "bench" / command[0]), *command[1:]], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            failed += 1
            print(json.dumps({"bench": command[0], "error": done.stderr.strip().splitlines()[-3:]}, ensure_ascii=False))
            continue
        for line in lines:
            print(line)
        print(json.dumps({"bench": command[0], "wall_s": round(time.perf_counter() - started, 1)}), file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
