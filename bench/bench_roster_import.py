"""Roster import benchmark (issue target: 100,000 rows under 60 s, memory flat).

Creates a fresh database (PostgreSQL from DATABASE_URL, dropped and re-created;
otherwise SQLite in a temporary directory), migrates it, adds synthetic
schools, writes a valid N-row roster file, imports it through RosterImporter,
then imports it again (everything unchanged), and prints one JSON object.

    .venv/bin/python bench/bench_roster_import.py --rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_roster \\
        .venv/bin/python bench/bench_roster_import.py --rows 100000 [--xlsx]
"""

import argparse
import csv
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

SCHOOLS = 200


def _fresh_postgres(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    common = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    subprocess.run(["dropdb", *common, "--if-exists", name], check=True)
    subprocess.run(["createdb", *common, name], check=True)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_file(path: Path, rows: int, schools: list, xlsx: bool) -> None:
    from people.identity import id_check_character
    from people.roster.columns import COLUMNS

    stages = ["小学", "初中", "普通高中"]
    subjects = ["语文", "数学、科学", "英语", "物理、化学", "体育与健康"]
    titles = ["未评职称", "三级教师", "二级教师", "一级教师", "高级教师"]

    def generate():
        start = dt.date(1965, 1, 1)
        for i in range(rows):
            school = schools[i % len(schools)]
            birth = start + dt.timedelta(days=i // 1000)
            first17 = f"{school.division.code}{birth:%Y%m%d}{i % 1000:03d}"
            hire = birth.replace(year=birth.year + 23, day=1)
            honours = f"县级骨干教师({hire.year + 5}-09-01~{hire.year + 10}-08-31)" if i % 10 == 0 else ""
            yield ["", f"教师{i:06d}", first17 + id_check_character(first17), school.code, stages[i % 3],
                   subjects[i % 5], titles[i % 5], hire.isoformat(), "在岗", honours]

    if xlsx:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("名册")
        sheet.append(COLUMNS)
        for values in generate():
            sheet.append(values)
        workbook.save(path)
        return
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(generate())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true", help="import an .xlsx file instead of .csv")
    parser.add_argument("--no-reimport", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-roster-"))
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        _fresh_postgres(url)
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("IMPORT_MAX_ROWS", str(max(args.rows, 200_000)))
    os.environ.setdefault("UPLOAD_MAX_BYTES", str(1 << 30))
    os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every SQL statement (bulk inserts are large) in memory

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from access.scope import Scope
    from org.models import Division, School
    from people.roster.importer import RosterImporter

    call_command("migrate", verbosity=0)
    counties = list(Division.objects.filter(level="county").order_by("code")[:50])
    schools = []
    for i in range(SCHOOLS):
        county = counties[i % len(counties)]
        schools.append(School(code=f"{county.code}{9000 + i:04d}", name=f"基准学校{i}", division=county,
                              division_path=county.path, stages=["primary"]))
    School.objects.bulk_create(schools)
    schools = list(School.objects.dangerously_unscoped().select_related("division").filter(name__startswith="基准学校"))

    path = workdir / ("roster.xlsx" if args.xlsx else "roster.csv")
    started = time.perf_counter()
    _write_file(path, args.rows, schools, args.xlsx)
    generate_seconds = time.perf_counter() - started
    rss_before = _rss_mb()

    scope = Scope.division(Division.objects.get(level="province"))
    started = time.perf_counter()
    with path.open("rb") as handle:
        report = RosterImporter(scope=scope, actor=None).run(handle, path.name)
    seconds = time.perf_counter() - started
    rss_after_first = _rss_mb()
    result = {
        "rows": args.rows, "format": path.suffix[1:], "file_mb": round(path.stat().st_size / 1e6, 1),
        "vendor": connection.vendor, "seconds": round(seconds, 1), "rows_per_second": round(args.rows / seconds),
        "created": report.created, "rejected": report.rejected,
        "generate_seconds": round(generate_seconds, 1),
        "rss_mb_before_import": round(rss_before), "peak_rss_mb": round(rss_after_first),
    }
    if not args.no_reimport:
        started = time.perf_counter()
        with path.open("rb") as handle:
            again = RosterImporter(scope=scope, actor=None).run(handle, path.name)
        result["reimport_seconds"] = round(time.perf_counter() - started, 1)
        result["reimport_unchanged"] = again.unchanged
        result["peak_rss_mb"] = round(_rss_mb())
    print(json.dumps(result, ensure_ascii=False))
    path.unlink()


if __name__ == "__main__":
    main()
