#!/usr/bin/env bash
# load_xapi.py (batch ingest, single-POST latency, GET ?verb= latency) against a fresh Yanxiu
# LRS (bench/lrs_harness.py: throwaway PostgreSQL database, gunicorn on loopback).
#
#   bench/lrs_load.sh [--out DIR] [load_xapi.py flags ...]
#       e.g. bench/lrs_load.sh --count 2000 --single 100 --queries 50   (a quick run)
#
# With no flags load_xapi.py runs its defaults (20,000 statements in POSTs of 100, 1,000
# single POSTs, 200 GETs with limit=100), the figures the Ralph baseline was measured with.
# Environment: LRS_ANCHOR_DIR (default /work/shared/anchors/lrs), LRS_CODE_DIR,
# LRS_BENCH_PORT, LRS_BENCH_DB, LRS_BENCH_THREADS (see bench/lrs_harness.py).
# Prints load_xapi.py's progress on stderr and the results JSON (plus the server's settings
# under "server", and the server processes' resident memory under "server_memory_kb") on stdout;
# also writes DIR/load.json and DIR/memory.tsv (default DIR /tmp/yanxiu-lrs-load).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PYTHON:-$ROOT/.venv/bin/python}
ANCHOR_DIR=${LRS_ANCHOR_DIR:-/work/shared/anchors/lrs}
OUT=/tmp/yanxiu-lrs-load
if [ "${1:-}" = --out ]; then OUT=$2; shift 2; fi
[ -f "$ANCHOR_DIR/load_xapi.py" ] || { echo "no load_xapi.py in $ANCHOR_DIR" >&2; exit 2; }
mkdir -p "$OUT"

"$PY" "$HERE/lrs_harness.py" start > "$OUT/server.txt"
# Set only after a successful start: a failed start must not stop another run's server.
trap '"$PY" "$HERE/lrs_harness.py" stop >/dev/null' EXIT
ENDPOINT=$(sed -n 's/^endpoint: //p' "$OUT/server.txt")
KEY=$(sed -n 's/^key: //p' "$OUT/server.txt")
SECRET=$(sed -n 's/^secret: //p' "$OUT/server.txt")
sed -i '/^secret:/d' "$OUT/server.txt"
grep -v '^key:' "$OUT/server.txt" >&2
STATE=$(sed -n 's/^state: \([^ ]*\).*/\1/p' "$OUT/server.txt")
DB=$(sed -n 's/.*database: \([^ ]*\).*/\1/p' "$OUT/server.txt")
: > "$OUT/backlog.tsv"

# Memory while it runs: the resident size of the gunicorn master and its workers, every
# LRS_MEMORY_EVERY seconds (default 10), to DIR/memory.tsv (seconds, total kB, largest process kB).
PID=$(cat "$STATE/gunicorn.pid")
(
  start=$(date +%s)
  while kill -0 "$PID" 2>/dev/null; do
    total=0; largest=0
    for p in "$PID" $(pgrep -P "$PID"); do
      kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
      total=$((total + ${kb:-0})); [ "${kb:-0}" -gt "$largest" ] && largest=${kb:-0}
    done
    printf '%s\t%s\t%s\n' $(( $(date +%s) - start )) "$total" "$largest"
    # Statements stored but not yet indexed (the index worker's backlog) and the worker's resident
    # kB, to DIR/backlog.tsv.
    waiting=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc \
      "SELECT coalesce(sum(jsonb_array_length(seqs)), 0) FROM lrs_statementpending" 2>/dev/null || echo -)
    # The index worker's processes (celery and its pool: one session) by their resident size.
    worker_kb=0
    if [ -f "$STATE/worker.pid" ]; then
      for p in $(pgrep -s "$(cat "$STATE/worker.pid")"); do
        kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        worker_kb=$((worker_kb + ${kb:-0}))
      done
    fi
    printf '%s\t%s\t%s\n' $(( $(date +%s) - start )) "$waiting" "$worker_kb" >> "$OUT/backlog.tsv"
    sleep "${LRS_MEMORY_EVERY:-10}"
  done
) > "$OUT/memory.tsv" 2>/dev/null &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null; "$PY" "$HERE/lrs_harness.py" stop >/dev/null' EXIT

# load_xapi.py as shipped, with one addition: each latency summary also gets p95_ms (same
# nearest-rank percentile), which the Ralph tables do not have but our targets use.
# load_xapi.py itself refuses non-loopback endpoints; the harness only binds loopback.
"$PY" - "$ANCHOR_DIR" --endpoint "$ENDPOINT" --user "$KEY" --password "$SECRET" \
  --json-out "$OUT/load_raw.json" "$@" >&2 <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import load_xapi

shipped = load_xapi.lat_summary


def lat_summary(lat_s):
    summary = shipped(lat_s)
    if lat_s:
        summary["p95_ms"] = round(load_xapi.pct(sorted(x * 1000 for x in lat_s), 95), 2)
    return summary


load_xapi.lat_summary = lat_summary
sys.exit(load_xapi.main(sys.argv[2:]))
EOF

# The figures plus what they were measured on (workers, threads, code, database).
"$PY" - "$OUT/load_raw.json" "$STATE/server.json" "$OUT/load.json" "$OUT/memory.tsv" "$OUT/backlog.tsv" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
server = json.load(open(sys.argv[2]))
result["server"] = {k: server.get(k) for k in ("code_dir", "database", "workers", "threads", "index_worker")}
samples = [line.split("\t") for line in open(sys.argv[4]).read().splitlines() if line.count("\t") == 2]
if samples:  # resident kB of the server's processes: first sample, last, highest
    totals = [int(total) for _, total, _ in samples]
    result["server_memory_kb"] = {"first": totals[0], "last": totals[-1], "max": max(totals), "samples": len(totals),
                                  "largest_process_max": max(int(largest) for _, _, largest in samples)}
rows = [line.split("\t") for line in open(sys.argv[5]).read().splitlines() if line.count("\t") == 2]
waiting = [int(n) for _, n, _ in rows if n.isdigit()]
if waiting:  # statements stored, not yet indexed: the worker keeping up or not
    result["index_backlog"] = {"max": max(waiting), "last": waiting[-1], "samples": len(waiting)}
worker = [int(kb) for _, _, kb in rows if kb.isdigit() and int(kb)]
if worker:  # the index worker's resident kB: first sample, last, highest
    result["worker_memory_kb"] = {"first": worker[0], "last": worker[-1], "max": max(worker)}
# How fast this machine runs Python at all (the same kind of VM has differed by 3-4 times between
# days): seconds for 20 M additions in a CPython loop, so runs on different days compare.
import time
began, total = time.perf_counter(), 0
for n in range(20_000_000):
    total += n
result["cpu_reference_s"] = round(time.perf_counter() - began, 2)
json.dump(result, open(sys.argv[3], "w"), indent=2)
print(json.dumps(result, indent=2))
EOF
