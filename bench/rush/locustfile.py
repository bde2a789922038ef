"""The registration rush: teachers enrol, each once, in one popular project.

Each simulated user is a browser slot: it takes the next teacher's API token from the
prepared file, enrols that teacher, and moves on to the next teacher (so every teacher
enrols exactly once, and the load stays at --users requests in flight). When every
teacher has enrolled, the users stop.

    RUSH_TOKENS=tokens.txt RUSH_PROJECT=123 locust -f bench/rush/locustfile.py --headless \\
        --host http://127.0.0.1:8765 --users 100 --spawn-rate 100 --run-time 60s

Driven by bench/rush/run.py, which prepares the tokens and the project and starts gunicorn.
"""

import json
import os
from pathlib import Path

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

PROJECT = int(os.environ["RUSH_PROJECT"])
TOKENS = iter(Path(os.environ["RUSH_TOKENS"]).read_text(encoding="utf-8").split())
# Behind the TLS proxy in production: say the request came over HTTPS (no redirect).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


class Teacher(FastHttpUser):
    wait_time = constant(float(os.environ.get("RUSH_THINK_SECONDS", "0")))

    @task
    def enrol(self):
        token = next(TOKENS, None)  # gevent: one greenlet at a time, the iterator is safe
        if token is None:
            raise StopUser
        with self.client.post(f"/api/v1/projects/{PROJECT}/enrolments", data="{}", name="enrol",
                              headers={**PROXY_HEADERS, "Authorization": f"Bearer {token}",
                                       "Content-Type": "application/json"},
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}")
                return
            state = json.loads(response.text or "{}").get("state")
            if state not in ("enrolled", "waiting", "pending"):
                response.failure(f"state {state!r}")
