#!/usr/bin/env bash
# The ADL LRS conformance suite against a fresh Yanxiu LRS (bench/lrs_harness.py: throwaway
# PostgreSQL database, gunicorn on loopback, production settings).
#
#   bench/lrs_conformance.sh [OUT_DIR]        (default /tmp/yanxiu-lrs-conformance)
#
# Environment:
#   LRS_CONFORMANCE_DIR  suite checkout with `npm install` done (default /work/lrs-suite)
#   XAPI_VERSION         1.0.3 (default) or 2.0.0
#   LRS_ANCHOR_DIR       folder of run_conformance.sh (default /work/shared/anchors/lrs)
#   LRS_CODE_DIR         project copy to serve (default: this checkout; e.g. a snapshot
#                        from `bench/lrs_harness.py snapshot`)
#   LRS_BENCH_PORT, LRS_BENCH_DB, LRS_BENCH_THREADS   see bench/lrs_harness.py
#   LRS_BENCH_DEFAULT_VERSION  the server's LRS_DEFAULT_XAPI_VERSION (default 1.0.3): the version
#                        header on answers to requests naming none; each suite checks it is its own
#   CONFORMANCE_MODE, CONFORMANCE_GREP, CONFORMANCE_STALL_S, ...   passed to run_conformance.sh
#   LRS_CONFORMANCE_CHAI_THINGS  1 (default): preload chai-things in per-file mode (see below)
#
# Writes OUT_DIR/summary.json (run_conformance.sh) plus failures.tsv and report.json
# (bench/lrs_conformance_report.py: failures by file, area and message); the last line
# printed is the suite's "N passed, M failed, K skipped". Exit status: run_conformance.sh's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PYTHON:-$ROOT/.venv/bin/python}
OUT=${1:-/tmp/yanxiu-lrs-conformance}
ANCHOR_DIR=${LRS_ANCHOR_DIR:-/work/shared/anchors/lrs}
export LRS_CONFORMANCE_DIR=${LRS_CONFORMANCE_DIR:-/work/lrs-suite}
export XAPI_VERSION=${XAPI_VERSION:-1.0.3}

[ -x "$ANCHOR_DIR/run_conformance.sh" ] || { echo "no run_conformance.sh in $ANCHOR_DIR" >&2; exit 2; }
# A half-installed suite fails in odd ways mid-run: check the packages it loads first.
(cd "$LRS_CONFORMANCE_DIR" && node -e 'for (const m of ["chai","chai-things","colors","comb","commander","exit","extend","form-urlencoded","isemail","joi","jsonschema","jws","lodash.isequal","mocha","moment","node-env-file","oauth","open","pretty-error","q","should","super-request","supertest-as-promised","uuid","validator"]) require.resolve(m)') \
  || { echo "suite packages incomplete: (cd $LRS_CONFORMANCE_DIR && npm install --no-audit --no-fund)" >&2; exit 2; }

# Old logs would be counted again by the summary: clear this script's own outputs only,
# and refuse a non-empty folder that is not one of ours.
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/server.txt" ]; then
  echo "$OUT is not empty and not an earlier output folder of this script" >&2; exit 2
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.log.json "$OUT"/*.stdout "$OUT"/{results.tsv,summary.json,server.txt,run.txt,report.json,failures.tsv,chai-things-preload.js}

"$PY" "$HERE/lrs_harness.py" start | tee "$OUT/server.txt" | grep -v '^secret:'
# Once started, the server is stopped whatever happens below (the trap runs on exit and on
# Ctrl-C); set only now, so a failed start never stops someone else's server on this port.
trap '"$PY" "$HERE/lrs_harness.py" stop >/dev/null' EXIT
ENDPOINT=$(sed -n 's/^endpoint: //p' "$OUT/server.txt")
KEY=$(sed -n 's/^key: //p' "$OUT/server.txt")
SECRET=$(sed -n 's/^secret: //p' "$OUT/server.txt")
sed -i '/^secret:/d' "$OUT/server.txt"   # the throwaway secret stays out of the results folder

# Per-file mode loses one side effect of the suite's single run: E.Data2.5 registers the
# chai-things plugin (`.all` on arrays) when mocha loads it, and Communication 2.1's XAPI-00164
# tests rely on it. Alone in its process 2.1 would fail those 4 tests against any LRS, so the
# plugin is preloaded into every suite process (LRS_CONFORMANCE_CHAI_THINGS=0: as shipped).
if [ "${LRS_CONFORMANCE_CHAI_THINGS:-1}" = 1 ] && [ "${CONFORMANCE_MODE:-per-file}" = per-file ]; then
  SUITE_JSON=$(node -e 'console.log(JSON.stringify(require("path").resolve(process.argv[1])))' "$LRS_CONFORMANCE_DIR")
  cat > "$OUT/chai-things-preload.js" <<JS
try {
  const chai = require(require.resolve("chai", {paths: [$SUITE_JSON]}));
  chai.use(require(require.resolve("chai-things", {paths: [$SUITE_JSON]})));
} catch (e) { /* a process that is not the suite's */ }
JS
  export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require $OUT/chai-things-preload.js"
fi

status=0
CONFORMANCE_OUT="$OUT" "$ANCHOR_DIR/run_conformance.sh" "$ENDPOINT" "$KEY" "$SECRET" | tee "$OUT/run.txt" || status=$?
"$PY" "$HERE/lrs_conformance_report.py" "$OUT" >/dev/null \
  && echo "failures by file/area/message: $OUT/report.json, $OUT/failures.tsv"
# A run without a log (suite could not start) counts 0/0/0: say so rather than look clean.
grep -q 'runs not finished: none' "$OUT/run.txt" \
  || echo "WARNING: $(grep -o 'runs not finished: .*' "$OUT/run.txt" | cut -c1-300) (see $OUT/*.stdout)"
# Repeat the suite's own counts line last, for callers that read the final line.
tail -n 1 "$OUT/run.txt"
exit "$status"
