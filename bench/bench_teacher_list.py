"""Teacher list page latency (issue 2): province admin and county admin, first
and deep pages, filtered and not, rendered through the full Django stack.

Run against a database already loaded by `yanxiu synth`:
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_teacher_list.py --repeat 40
Prints one JSON object.
"""

import argparse
import json

from _django import setup, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--county", default="410221")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from people.models import Teacher

    province_admin = User.objects.get(username="admin-410000")
    county_admin = User.objects.get(username=f"admin-{args.county}")
    total = Teacher.objects.dangerously_unscoped().count()
    teacher_ids = Teacher.objects.dangerously_unscoped().order_by("id").values_list("id", flat=True)
    deep_after = teacher_ids[int(total * 0.9)]
    county_ids = Teacher.objects.dangerously_unscoped().filter(division_path__contains=f"{args.county}.").order_by("id")
    county_deep_after = county_ids.values_list("id", flat=True)[int(county_ids.count() * 0.9)]

    cases = {
        "province": (province_admin, [
            ("first_page", ""),
            ("deep_page", f"after={deep_after}"),
            ("filtered_first", "stage=junior&subject=physics&title=senior"),
            ("filtered_deep", f"stage=primary&subject=math&after={deep_after}"),
            ("honour_filter", "honour=master_teacher"),
            ("name_search", "q=王"),
        ]),
        "county": (county_admin, [
            ("first_page", ""),
            ("deep_page", f"after={county_deep_after}"),
            ("filtered_first", "stage=primary&subject=chinese"),
            ("honour_filter", "honour=backbone"),
        ]),
    }
    results = {"teachers": total, "vendor": connection.vendor}
    for role, (user, queries) in cases.items():
        client = Client()
        client.force_login(user)
        for name, query in queries:
            def request(query=query, client=client):
                response = client.get(f"/teachers/?{query}")
                assert response.status_code == 200, response.status_code
            results[f"{role}.{name}"] = timed(request, args.repeat)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
