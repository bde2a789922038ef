"""Failures of a bench/lrs_conformance.sh run, by area, file and message.

    .venv/bin/python bench/lrs_conformance_report.py OUT_DIR [--top 30] [--list AREA ...]

Reads OUT_DIR/results.tsv and the per-file run logs (OUT_DIR/FILE.log.json) written by
run_conformance.sh. Writes OUT_DIR/failures.tsv (one row per failed test: area, file, the
test's path of suite titles, first line of the error) and OUT_DIR/report.json (totals, the
most common messages, failures per file grouped by area), and prints a summary; --list
prints every failing test of the named areas with its full error.

Areas follow the suite's file names (xAPI 1.0.3 sections):
  validation   Data 2.2, 2.4.1-2.4.10, 4.0 (what a statement may contain)
  documents    Communication 2.2-2.7 (State, Activity/Agent Profile, Agents, Activities), 3.1
  attachments  Data 2.4.11 Attachments, 2.6 Signed Statements
  query        Data 2.3 Lifecycle (voiding), 2.5 Retrieval, Communication 2.1 Statement Resource
  http         Communication 1.1-1.5 (HEAD, headers, alternate syntax, encoding, content
               types), 2.8 About, 3.2 Error Codes, 3.3 Versioning, 4.0 Authentication
  other        anything else
In the query/http areas a failure is marked `needs: attachments` when its test is about
attachments, multipart or signatures (its own title, or its path with a 500 in the exchange),
`needs: documents` when it got a 404 in a test about
the activities/agents/state/profile resources. `last_response` is the status line of the
last HTTP response in the test's log.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

AREAS = [
    ("attachments", re.compile(r"Data2\.4\.11-|Data2\.6-")),
    ("documents", re.compile(r"Communication2\.[2-7]-|Communication3\.1-")),
    ("query", re.compile(r"Data2\.3-|Data2\.5-|Communication2\.1-")),
    ("http", re.compile(r"Communication1\.[1-5]-|Communication2\.8-|Communication3\.[23]-|Communication4\.0-")),
    ("validation", re.compile(r"Data2\.2-|Data2\.4\.([1-9]|10)-|Data4\.0-")),
]
AREA_NAMES = {"validation": "statement validation", "documents": "documents (state/profiles/activities/agents)",
              "attachments": "attachments/signatures", "query": "statement query/format/voiding/paging",
              "http": "HTTP layer (headers, auth, alternate syntax, version)", "other": "other"}
DOCUMENT_HINT = re.compile(r"\b(activities|agents?|state|profile)\b", re.I)
ATTACHMENT_HINT = re.compile(r"attachment|multipart|signed|signature", re.I)
STATUS_LINE = re.compile(r"^HTTP/1\.[01] (\d{3}[^\r\n]*)", re.M)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def area_of(file: str) -> str:
    return next((name for name, pattern in AREAS if pattern.search(file)), "other")


def failures_of(log: dict, file: str) -> list[dict]:
    """Every failed node with an error (tests and failing hooks), with its suite path."""
    found = []

    def walk(node: dict, path: list[str]) -> None:
        title = node.get("title") or ""
        here = path + [title] if title else path
        if node.get("status") == "failed" and node.get("error"):
            error = str(node["error"]).strip()
            first = error.split("\n")[0]
            # In the query and HTTP areas, say which failures wait on another area's resource.
            needs = ""
            statuses = STATUS_LINE.findall(str(node.get("log") or ""))
            server_error = any(s.startswith("500") for s in statuses) or "got 500" in error
            if area_of(file) in ("query", "http"):
                if ATTACHMENT_HINT.search(title) or (server_error and ATTACHMENT_HINT.search(" ".join(here))):
                    needs = "attachments"
                elif "404" in error and DOCUMENT_HINT.search(" ".join(here)):
                    needs = "documents"
            found.append({"file": file, "area": area_of(file), "path": " > ".join(here), "title": title,
                          "message": UUID.sub("<uuid>", first)[:200], "error": error, "needs": needs,
                          "last_response": statuses[-1].strip() if statuses else ""})
        for child in node.get("tests") or []:
            walk(child, here)

    walk(log.get("log") or {}, [])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--list", nargs="*", default=[], choices=list(AREA_NAMES), help="print these areas' failures")
    args = parser.parse_args()
    rows = [line.split("\t") for line in (args.out / "results.tsv").read_text().splitlines() if line.strip()]
    failures, per_file = [], []
    for file, state, total, passed, failed, seconds in rows:
        log_path = args.out / f"{file}.log.json"
        found = failures_of(json.loads(log_path.read_text()), file) if log_path.exists() else []
        failures += found
        per_file.append({"file": file, "area": area_of(file), "state": state, "total": int(total),
                         "passed": int(passed), "failed": int(failed),
                         "skipped": max(0, int(total) - int(passed) - int(failed)), "seconds": int(seconds)})

    with (args.out / "failures.tsv").open("w") as handle:
        handle.write("area\tneeds\tfile\tpath\tmessage\tlast_response\n")
        for f in failures:
            handle.write("\t".join([f["area"], f["needs"], f["file"], f["path"].replace("\t", " "),
                                    f["message"].replace("\t", " "), f["last_response"]]) + "\n")
    by_area: dict[str, dict[str, Any]] = {}
    for name in AREA_NAMES:
        files = [r for r in per_file if r["area"] == name]
        by_area[name] = {"title": AREA_NAMES[name], "failed": sum(r["failed"] for r in files),
                         "passed": sum(r["passed"] for r in files), "skipped": sum(r["skipped"] for r in files),
                         "files": {r["file"]: r["failed"] for r in files if r["failed"] or r["skipped"]}}
    messages = Counter(f["message"] for f in failures)
    report: dict[str, Any] = {
        "totals": {k: sum(r[k] for r in per_file) for k in ("total", "passed", "failed", "skipped")},
        "top_messages": [{"count": c, "message": m} for m, c in messages.most_common(args.top)],
        "by_area": by_area, "files": per_file,
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))

    t = report["totals"]
    print(f"{t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped of {t['total']}")
    print(f"\nmost common failure messages (top {args.top}):")
    for item in report["top_messages"]:
        print(f"  {item['count']:5d}  {item['message']}")
    print("\nfailures by area and file (failed / skipped):")
    for name, area in by_area.items():
        print(f"  {area['title']}: {area['failed']} failed, {area['passed']} passed, {area['skipped']} skipped")
        for row in (r for r in per_file if r["area"] == name and (r["failed"] or r["skipped"])):
            print(f"      {row['failed']:4d} / {row['skipped']:<3d} {row['file']}")
    grouped = defaultdict(list)
    for f in failures:
        grouped[f["area"]].append(f)
    for name in args.list:
        print(f"\n== {AREA_NAMES[name]}: {len(grouped[name])} failures ==")
        for f in grouped[name]:
            mark = f"  [needs {f['needs']}]" if f["needs"] else ""
            last = f"\n    last response: {f['last_response']}" if f["last_response"] else ""
            print(f"- [{f['file']}] {f['path']}{mark}\n    {f['error'].replace(chr(10), chr(10) + '    ')}{last}")


if __name__ == "__main__":
    main()
