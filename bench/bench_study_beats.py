"""The platform player's heartbeat (issue 11 point 3): the cost of one beat through the whole
Django stack (session, CSRF-exempt test client, the policy, the row locks, the time rules),
and of the beats that also send an xAPI statement (progressed, completed) into the LRS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_player \\
        .venv/bin/python bench/bench_study_beats.py --courses 10

Needs a database made by `yanxiu synth` (the demo teachers teacher-1 … and the demo
courses, whose clip is 96 s): each demo teacher studies `--courses` video courses to the end
(start, then a beat every 15 s of a moved clock until completed). Leaves the enrolments
there: run it on a throwaway database. Prints one JSON object (milliseconds).
"""

import argparse
import datetime as dt
import json
import statistics
import time

from _django import setup


def _summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    if not samples:
        return {"n": 0}
    return {"p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2),
            "max_ms": round(samples[-1], 2), "n": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--courses", type=int, default=10)
    args = parser.parse_args()
    setup()
    import time_machine
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from learning.models import Course

    users = list(User.objects.filter(username__startswith="teacher-", teacher__isnull=False).order_by("username"))
    courses = list(Course.objects.dangerously_unscoped().filter(state="published", format="video",
                                                               division__level="province")
                   .exclude(media_url="").order_by("pk")[: args.courses])
    starts, plain, with_statement = [], [], []
    clock = time_machine.travel(dt.datetime.now(dt.UTC), tick=False)
    traveller = clock.start()
    try:
        for user in users:
            client = Client()
            client.force_login(user)
            for course in courses:
                traveller.shift(dt.timedelta(minutes=1))
                began = time.perf_counter()
                response = client.post(f"/learning/courses/{course.pk}/study/start/")
                starts.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    continue
                token, position = response.json()["token"], response.json()["position"]
                percent = response.json()["percent"]
                for seq in range(1, 30):
                    traveller.shift(dt.timedelta(seconds=15))
                    end = min(position + 15, course.duration_seconds)
                    body = {"token": token, "seq": seq, "position": end, "ranges": [[position, end]],
                            "visible": True, "playing": True, "active": False}
                    began = time.perf_counter()
                    answer = client.post(f"/learning/courses/{course.pk}/study/beat/", data=json.dumps(body),
                                         content_type="application/json")
                    spent = (time.perf_counter() - began) * 1000
                    data = answer.json()
                    position = data.get("position", end)
                    # a quarter passed (progressed) or the course finished (completed): a statement went to the LRS
                    emitted = data.get("completed_now") or data.get("percent", 0) // 25 > percent // 25
                    percent = data.get("percent", percent)
                    (with_statement if emitted else plain).append(spent)
                    if data.get("state") == "completed":
                        break
    finally:
        clock.stop()
    print(json.dumps({"database": connection.vendor, "teachers": len(users), "courses": len(courses),
                      "start": _summary(starts), "beat": _summary(plain),
                      "beat_sending_a_statement": _summary(with_statement)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
