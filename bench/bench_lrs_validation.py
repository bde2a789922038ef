"""Statement validation cost per statement, xAPI 1.0.3 and 2.0.0 (lrs.validation, one
module with a version parameter): a typical statement (actor, verb, activity with a
definition) and one using every property. No database.

    .venv/bin/python bench/bench_lrs_validation.py [--count 5000]

Prints one JSON object: microseconds per statement, best of five runs, per version and shape.
"""

import argparse
import copy
import json
import time

from _django import setup


def per_statement_us(validate, statements: list[dict], version: str, count: int) -> float:
    best = float("inf")
    for run in range(5):
        batch = [copy.deepcopy(statement) for statement in statements[run * count:(run + 1) * count]]
        started = time.perf_counter()
        for statement in batch:
            validate(statement, version=version)
        best = min(best, (time.perf_counter() - started) / count)
    return round(best * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000, help="statements per run")
    args = parser.parse_args()
    setup()
    from lrs.tests.conftest import statement
    from lrs.tests.test_validation import full
    from lrs.validation import validate_statement

    result: dict[str, dict[str, float]] = {}
    for shape, make in (("typical", statement), ("every_property", full)):
        statements = [make() for _ in range(5 * args.count)]
        result[shape] = {version: per_statement_us(validate_statement, statements, version, args.count)
                         for version in ("1.0.3", "2.0.0")}
    print(json.dumps({"bench": "lrs_validation", "count": args.count, "us_per_statement": result}))


if __name__ == "__main__":
    main()
