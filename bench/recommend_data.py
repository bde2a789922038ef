"""Real public interaction logs → the `user,item,timestamp[,weight]` CSV of `yanxiu recommend evaluate`.

    .venv/bin/python bench/recommend_data.py xuetangx SRC_DIR OUT.csv
    .venv/bin/python bench/recommend_data.py movielens ratings.dat OUT.csv
    .venv/bin/python bench/recommend_data.py movielens-100k u.data OUT.csv
    .venv/bin/python bench/recommend_data.py xuetangx-enrollment course_enrollment.csv OUT.csv

- `xuetangx`: the XuetangX (学堂在线) learner × course log prepared in the public repository
  github.com/adhi43/learning_recommendation_system (data/processed/{train,val,test}.csv: username,
  course_id, interaction_strength, ts_ms, …). Its own split is ignored: the three files are joined
  and the evaluation splits by time again. `ts_ms` was written from epoch seconds read as
  milliseconds (dates in the 1970s); that is a constant factor, so the order of events and hence
  the split are those of the real log.
- `movielens`: ratings.dat of MovieLens 1M (UserID::MovieID::Rating::Timestamp), every rating an
  event (a check that the ranking generalises beyond courses).
- `movielens-100k`: u.data of MovieLens 100K (user, item, rating, timestamp; tab-separated).
- `xuetangx-enrollment`: course_enrollment.csv of the XuetangX WSDM 2016 release (userid,
  courseid, created).

Nothing is downloaded here (the machine reaches no data hosts): fetch the source with git or by
hand into a folder outside the repository (we use /work/data-recsys/), then convert.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def xuetangx(source: Path, out: csv.writer) -> int:
    rows = 0
    for name in ("train.csv", "val.csv", "test.csv"):
        with open(source / name, encoding="utf-8-sig", newline="") as handle:
            for record in csv.DictReader(handle):
                if not record["ts_ms"].strip():
                    continue  # 56 events without a time: nothing to place them by
                out.writerow([record["username"], record["course_id"], record["ts_ms"].replace(" ", "T"),
                              record["interaction_strength"]])
                rows += 1
    return rows


def movielens(source: Path, out: csv.writer) -> int:
    rows = 0
    with open(source, encoding="latin-1") as handle:
        for line in handle:
            if line.strip():
                user, movie, rating, moment = line.strip().split("::")
                out.writerow([user, movie, moment, rating])
                rows += 1
    return rows


def movielens_100k(source: Path, out: csv.writer) -> int:
    rows = 0
    with open(source, encoding="latin-1") as handle:
        for line in handle:
            if line.strip():
                user, movie, rating, moment = line.split("\t")
                out.writerow([user, movie, moment.strip(), rating])
                rows += 1
    return rows


def xuetangx_enrollment(source: Path, out: csv.writer) -> int:
    rows = 0
    with open(source, encoding="utf-8-sig", newline="") as handle:
        for record in csv.DictReader(handle):
            out.writerow([record["userid"], record["courseid"], record["created"].replace(" ", "T"), 1])
            rows += 1
    return rows


CONVERTERS = {"xuetangx": xuetangx, "movielens": movielens, "movielens-100k": movielens_100k,
              "xuetangx-enrollment": xuetangx_enrollment}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("format", choices=sorted(CONVERTERS))
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    options = parser.parse_args()
    with open(options.out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "timestamp", "weight"])
        rows = CONVERTERS[options.format](options.source, writer)
    print(f"{rows} events → {options.out}")


if __name__ == "__main__":
    main()
