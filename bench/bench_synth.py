"""`yanxiu synth --scale L` into a fresh PostgreSQL database (issue 2 target:
under 3 minutes on 2 cores). Creates the database, migrates, loads, and prints
one JSON object with the synth result, wall time and peak memory.

    .venv/bin/python bench/bench_synth.py --scale L --database yanxiu_bench_synth
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="L")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--database", default="yanxiu_bench_synth")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--with-ledger", action="store_true", help="also generate every teacher's hours history")
    parser.add_argument("--no-training", action="store_true", help="leave out plans, projects and enrolments")
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": f"{args.server}/{args.database}", "YANXIU_DEMO_PASSWORD": "Qiuyue-Lianxi-2026"}
    host = "127.0.0.1"
    subprocess.run(["dropdb", "-h", host, "-U", "postgres", "--if-exists", args.database], check=True)
    subprocess.run(["createdb", "-h", host, "-U", "postgres", args.database], check=True)
    yanxiu = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*yanxiu, "migrate", "-v0"], check=True, env=env)
    started = time.monotonic()
    ledger = ([] if args.with_ledger else ["--no-ledger"]) + (["--no-training"] if args.no_training else [])
    output = subprocess.run([*yanxiu, "synth", "--scale", args.scale, "--seed", args.seed, *ledger], check=True, env=env,
                            capture_output=True, text=True).stdout
    wall = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(output.strip().splitlines()[-1])
    print(json.dumps({"scale": args.scale, "wall_seconds": round(wall, 1), "peak_rss_mb": round(peak_mb),
                      "cpus": os.cpu_count(), **result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
