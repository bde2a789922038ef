"""A throwaway Yanxiu LRS on PostgreSQL behind gunicorn, for the conformance suite and load runs.

    .venv/bin/python bench/lrs_harness.py start [--port 8731] [--code-dir DIR]   # prints endpoint/key/secret
    .venv/bin/python bench/lrs_harness.py stop  [--port 8731]
    .venv/bin/python bench/lrs_harness.py run   [--port 8731] -- COMMAND ...       # start, COMMAND, stop
    .venv/bin/python bench/lrs_harness.py snapshot [--out /tmp/lrs-snap]           # HEAD, frozen, to serve

`start` drops and re-creates ONE database (unless --keep-data / LRS_BENCH_KEEP=1) (LRS_BENCH_DB, default yanxiu_lrs_bench; the name
must start with `yanxiu_lrs_` so no other database can be named by mistake), migrates it (the
migrations load the province division; it is created if missing), creates one LRS client
with a high rate limit, runs collectstatic and starts gunicorn on 127.0.0.1 with production
settings (YANXIU_ENV=prod, DEBUG off, throwaway keys) and, as production runs, one Celery worker
(Redis as broker) for the statements' after-work (index rows, definitions, credits), which
`--no-index-worker` / LRS_BENCH_INDEX_WORKER=0 leaves in the request. Everything it writes (pid, log,
credentials, VAR_DIR) lives in the state folder, /tmp/yanxiu-lrs-bench-PORT by default.

`--code-dir` serves another copy of the project (e.g. a `git archive HEAD` snapshot) with
this venv: the project's packages are then imported from that folder only (the venv's
editable-install finder, which points at the working checkout, is switched off) and each
gunicorn worker checks this before it serves; the list of imported files is written to
STATE/imports.txt.

`run` exports LRS_ENDPOINT, LRS_KEY, LRS_SECRET, LRS_STATE_DIR to COMMAND and always stops the
server afterwards (also on Ctrl-C). Only loopback hosts are accepted, for the database,
Redis and the bind address. No root needed: PostgreSQL is reached over TCP as the user in
--server (trust auth on this machine).
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
DB_NAME_RE = re.compile(r"^yanxiu_lrs_[a-z0-9_]{1,40}$")
# Environment passed through to the children; everything else (DATABASE_URL, *_FILE, ...)
# is dropped so nothing inherited can point the server at another database.
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "TERM")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def fail(message: str, code: int = 2) -> None:
    print(f"lrs_harness: {message}", file=sys.stderr)
    sys.exit(code)


def project_packages(code_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in code_dir.glob("*/__init__.py"))


def isolate_imports(code_dir: Path) -> None:
    """Import the project from code_dir only: put it first on sys.path and drop the editable
    install's finder (it maps the packages to the working checkout)."""
    sys.path.insert(0, str(code_dir))
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p]
    sys.path_importer_cache.clear()


def foreign_modules(code_dir: Path) -> tuple[list[str], list[str]]:
    """(project modules loaded from code_dir, those loaded from anywhere else)."""
    packages = set(project_packages(code_dir))
    inside: list[str] = []
    outside: list[str] = []
    root = str(code_dir.resolve()) + os.sep
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in packages:
            continue
        where = getattr(module, "__file__", None)
        if where is None:  # namespace packages (template/data folders): check their path
            paths = list(getattr(module, "__path__", []) or [])
            where = paths[0] if paths else None
        if where is None:
            continue
        (inside if str(Path(where).resolve()).startswith(root) else outside).append(f"{name}\t{where}")
    return sorted(inside), sorted(outside)


# --- configuration -------------------------------------------------------------------------


def database_target(server: str, name: str) -> tuple[str, dict]:
    if not DB_NAME_RE.match(name):
        fail(f"database name {name!r} refused: it must match {DB_NAME_RE.pattern} (a throwaway name)")
    parts = urlsplit(server)
    if parts.scheme not in ("postgres", "postgresql") or parts.path not in ("", "/"):
        fail(f"--server must be postgres://USER@HOST:PORT without a database, got {server!r}")
    if not is_loopback(parts.hostname):
        fail(f"refusing non-loopback database host {parts.hostname!r}")
    pg = {"host": parts.hostname, "port": str(parts.port or 5432), "user": parts.username or "postgres"}
    return f"{server.rstrip('/')}/{name}", pg


def server_env(args, database_url: str, state: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    keys = json.loads((state / "keys.json").read_text())
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(args.code_dir),
        "PYTHONDONTWRITEBYTECODE": "1",  # leave a frozen snapshot as it was
        "YANXIU_ENV": "prod",
        "DEBUG": "0",
        "SECRET_KEY": keys["secret_key"],
        "YANXIU_FIELD_KEY": keys["field_key"],
        "YANXIU_BLIND_INDEX_KEY": keys["blind_index_key"],
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "YANXIU_VAR_DIR": str(state / "var"),
        # Plain HTTP on loopback: in production TLS ends at the proxy in front; here there is
        # none, so the HTTPS redirect is off and no proxy hop is trusted.
        "SECURE_SSL_REDIRECT": "0",
        "TRUSTED_PROXY_HOPS": "0",
        "LOG_LEVEL": args.log_level,
        # Without the index worker nothing goes through Celery: eager runs every task in place.
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LRS_INDEX_AFTER_COMMIT": "0",
        "LRS_DEFAULT_XAPI_VERSION": args.default_version,
    })
    if args.redis_url:
        # The rate counters live in the cache: Redis (as in production) so both workers share them.
        env["REDIS_URL"] = args.redis_url
    if args.index_worker:
        # As in production: a batch is answered once stored, its index rows and credits follow
        # in a Celery worker (one process, its own core) fed through Redis.
        env.update({"CELERY_TASK_ALWAYS_EAGER": "0", "LRS_INDEX_AFTER_COMMIT": "1",
                    "CELERY_BROKER_URL": args.redis_url})
    return env


def manage(args, env: dict[str, str], *command: str, capture: bool = False) -> str:
    started = time.monotonic()
    done = subprocess.run([args.python, str(Path(__file__).resolve()), "_manage", "--code-dir", str(args.code_dir),
                           "--", *command], env=env, cwd=args.code_dir, text=True,
                          stdout=subprocess.PIPE if capture else None)
    if done.returncode:
        fail(f"`{' '.join(command[:3])}` failed (exit {done.returncode})", 1)
    print(f"  {command[0]}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return done.stdout or ""


def port_busy(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def read_pid(state: Path) -> int | None:
    try:
        pid = int((state / "gunicorn.pid").read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


GUNICORN_CONF = '''\
# Written by bench/lrs_harness.py. Each worker checks, before serving, that every module of
# the project it imported comes from CODE_DIR (and lists them in IMPORTS).
import sys
sys.path.insert(0, {harness_dir!r})
from lrs_harness import foreign_modules
from pathlib import Path

CODE_DIR = Path({code_dir!r})
IMPORTS = {imports!r}


def post_worker_init(worker):
    from django.urls import get_resolver

    get_resolver().url_patterns  # imports every view module now, not at the first request
    inside, outside = foreign_modules(CODE_DIR)
    if outside or not any(line.startswith("lrs.views") for line in inside):
        worker.log.error("project modules from outside %s: %s", CODE_DIR, outside or "lrs.views not loaded")
        sys.exit(3)  # gunicorn's "worker failed to boot": the master stops
    with open(IMPORTS, "w") as handle:
        handle.write("\\n".join(inside) + "\\n")
    worker.log.info("imports ok: %d project modules, all under %s", len(inside), CODE_DIR)
'''


# --- subcommands ---------------------------------------------------------------------------


def start(args) -> dict:
    if not is_loopback(args.host):
        fail(f"refusing non-loopback bind host {args.host!r}")
    if args.redis_url and not is_loopback(urlsplit(args.redis_url).hostname):
        fail(f"refusing non-loopback Redis {args.redis_url!r}")
    code_dir = args.code_dir
    if not (code_dir / "config" / "settings.py").is_file():
        fail(f"not a Yanxiu checkout: {code_dir}")
    if not (code_dir / "node_modules").is_dir():
        fail(f"{code_dir}/node_modules is missing (collectstatic needs it; `snapshot` links it)")
    state = args.state_dir
    if read_pid(state):
        fail(f"a harness server is already running (pid {read_pid(state)}); run `stop --port {args.port}` first")
    if port_busy(args.port):
        fail(f"port {args.port} is in use")
    database_url, pg = database_target(args.server, args.database)
    if args.index_worker and not args.redis_url:
        fail("--index-worker needs Redis (--redis-url) for the worker's tasks")
    # Another harness server (other port) on the same database would lose it to the drop below.
    for other in Path("/tmp").glob("yanxiu-lrs-bench-*/server.json"):  # noqa: S108
        try:
            used = json.loads(other.read_text())
        except (OSError, ValueError):
            continue
        if used.get("database") == args.database and other.parent != state and read_pid(other.parent):
            fail(f"database {args.database} is in use by the harness server in {other.parent}; "
                 f"stop it or pass another --database / LRS_BENCH_DB")
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)  # the credentials file and keys live here
    if not (state / "keys.json").exists():
        key = lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # noqa: E731
        (state / "keys.json").write_text(json.dumps({"secret_key": secrets.token_urlsafe(48)[:64],
                                                     "field_key": key(), "blind_index_key": key()}))
    env = server_env(args, database_url, state)
    started = time.monotonic()

    # The one database this harness owns: dropped (connections closed) and created again.
    pg_args = ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"]]
    if not args.keep_data:
        subprocess.run(["dropdb", *pg_args, "--if-exists", "--force", args.database], check=True)
        subprocess.run(["createdb", *pg_args, args.database], check=True)
    manage(args, env, "migrate", "--no-input", "-v0")
    # The migrations load Henan's divisions; create a bare province only if they did not.
    manage(args, env, "shell", "-c",
           "from org.models import Division\n"
           "Division.objects.filter(level='province').exists() or Division.objects.create("
           "code='410000', name='河南省', level='province', path='410000.')", capture=True)
    # A secret is token_urlsafe, so about 1 in 32 starts with "-". The suite's command line
    # (commander 2) then reads `-p -xyz…` as flags (-o: OAuth) and never runs a test: revoke
    # such a client and create another.
    for attempt in range(8):
        out = manage(args, env, "lrs", "client", "create", f"{args.client_name}-{attempt}", "--prefix", "*",
                     "--reads-all", "--rate", str(args.rate), capture=True)
        creds = dict(re.findall(r"^(key|secret): (\S+)$", out, re.M))
        if set(creds) != {"key", "secret"}:
            fail(f"no key/secret in the client create output: {out!r}", 1)
        if not creds["secret"].startswith("-"):
            break
        manage(args, env, "lrs", "client", "revoke", creds["key"], capture=True)
    else:
        fail("every client secret started with '-'", 1)
    # Production serves static files from the manifest; 404/500 pages need it.
    manage(args, env, "collectstatic", "--no-input", "-v0")
    setup_seconds = time.monotonic() - started
    if args.index_worker:
        start_worker(args, env, state)

    (state / "gunicorn.conf.py").write_text(GUNICORN_CONF.format(
        harness_dir=str(Path(__file__).resolve().parent), code_dir=str(code_dir), imports=str(state / "imports.txt")))
    for stale in ("imports.txt", "gunicorn.pid"):
        (state / stale).unlink(missing_ok=True)
    gunicorn = [
        "--config", str(state / "gunicorn.conf.py"),
        "--chdir", str(code_dir), "--pythonpath", str(code_dir),
        "--bind", f"{args.host}:{args.port}",
        # gthread keeps the clients' connections alive (the sync worker closes each one).
        "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
        "--timeout", "120", "--graceful-timeout", "10", "--keep-alive", "5",
        "--pid", str(state / "gunicorn.pid"), "--log-level", "info",
        "--no-control-socket",  # gunicorn 27 would otherwise share ~/.gunicorn/gunicorn.ctl between runs
        *(["--access-logfile", str(state / "access.log")] if args.access_log else []),
        "config.wsgi:application",
    ]
    log = open(state / "server.log", "ab")  # noqa: SIM115 - handed to the server process
    log.write(f"=== lrs_harness start {time.strftime('%Y-%m-%d %H:%M:%S')} code {code_dir} "
              f"database {args.database}\n".encode())
    log.flush()
    server = subprocess.Popen([args.python, str(Path(__file__).resolve()), "_serve", "--code-dir", str(code_dir),
                               "--", *gunicorn], env=env, cwd=code_dir, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own group: a Ctrl-C is handled by `stop`, not raced
    endpoint = f"http://{args.host}:{args.port}{args.path}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if server.poll() is not None:
                fail(f"gunicorn exited with {server.returncode}; see {state / 'server.log'}", 1)
            workers_ready = (state / "imports.txt").exists()
            try:
                with urllib.request.urlopen(f"{endpoint}/about", timeout=2) as answer:  # noqa: S310 - http://loopback
                    if answer.status == 200 and workers_ready:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                fail(f"server did not answer {endpoint}/about within 60 s; see {state / 'server.log'}", 1)
            time.sleep(0.3)
    except BaseException:
        # Not up (or Ctrl-C): take down the server (and worker) this call started, nothing else.
        stop_worker(state)
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        raise
    info = {"endpoint": endpoint, "key": creds["key"], "secret": creds["secret"], "pid": server.pid,
            "database": args.database, "code_dir": str(code_dir), "state_dir": str(state),
            "workers": args.workers, "threads": args.threads, "index_worker": args.index_worker,
            "setup_seconds": round(setup_seconds, 1)}
    (state / "server.json").write_text(json.dumps(info, indent=2))
    os.chmod(state / "server.json", 0o600)
    return info


def start_worker(args, env: dict[str, str], state: Path) -> None:
    """The Celery worker that does each stored batch's after-work (and the crediting tasks):
    the broker's database emptied first, so no task of an earlier run reaches this one."""
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    log = open(state / "worker.log", "ab")  # noqa: SIM115 - handed to the worker process
    worker = subprocess.Popen([args.python, str(Path(__file__).resolve()), "_manage", "--code-dir", str(args.code_dir),
                               "--", "worker", "-c", "1", "-l", "WARNING", "--max-tasks-per-child", "100000"],
                              env=env, cwd=args.code_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (state / "worker.pid").write_text(f"{worker.pid}\n")


def stop_worker(state: Path) -> None:
    try:
        pid = int((state / "worker.pid").read_text())
    except (OSError, ValueError):
        return
    (state / "worker.pid").unlink()
    try:
        os.kill(pid, signal.SIGTERM)  # celery's warm shutdown: its pool process finishes its task first
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.killpg(pid, 0)  # its session: celery and its pool process
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def stop(args) -> None:
    stop_worker(args.state_dir)
    pid = read_pid(args.state_dir)
    if pid is None:
        print(f"no harness server running for {args.state_dir}")
        return
    os.kill(pid, signal.SIGTERM)  # the gunicorn master: graceful stop of its workers
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    print(f"stopped gunicorn (pid {pid})")


def print_info(info: dict) -> None:
    print(f"endpoint: {info['endpoint']}")
    print(f"key: {info['key']}")
    print(f"secret: {info['secret']}")
    print(f"state: {info['state_dir']}  database: {info['database']}  code: {info['code_dir']}  "
          f"pid: {info['pid']}  setup: {info['setup_seconds']} s", flush=True)


def run(args) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        fail("run needs a command after --")

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        info = start(args)  # on failure it cleans up after itself; never stop a server it did not start
    except KeyboardInterrupt:
        return 130
    try:
        print_info(info)
        env = {**os.environ, "LRS_ENDPOINT": info["endpoint"], "LRS_KEY": info["key"],
               "LRS_SECRET": info["secret"], "LRS_STATE_DIR": info["state_dir"]}
        return subprocess.run(command, env=env).returncode
    except KeyboardInterrupt:
        return 130
    finally:
        stop(args)


def snapshot(args) -> None:
    """`git archive HEAD` of the checkout into --out (read-only git), node_modules linked."""
    out = args.out.resolve()
    if not str(out).startswith("/tmp/"):  # noqa: S108 - scratch copies only live there
        fail("--out must be under /tmp")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", args.rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    (out / "node_modules").symlink_to(REPO / "node_modules")
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", args.rev], check=True, capture_output=True,
                         text=True).stdout.strip()
    (out / ".snapshot-rev").write_text(rev + "\n")
    print(f"snapshot of {rev} in {out}")


def internal_manage(args) -> None:
    """manage.py in the isolated import setting, then the same import check as the workers."""
    isolate_imports(args.code_dir)
    sys.argv = ["yanxiu", *args.rest]
    from config.cli import main

    main()
    _, outside = foreign_modules(args.code_dir)
    if outside:
        fail(f"project modules imported from outside {args.code_dir}: {outside[:5]}", 1)


def internal_serve(args) -> None:
    isolate_imports(args.code_dir)
    os.chdir(args.code_dir)
    sys.argv = ["gunicorn", *args.rest]
    from gunicorn.app.wsgiapp import run as gunicorn_run

    gunicorn_run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--port", type=int, default=int(os.environ.get("LRS_BENCH_PORT", "8731")))
    common.add_argument("--state-dir", type=Path, help="default /tmp/yanxiu-lrs-bench-PORT")
    serving = argparse.ArgumentParser(add_help=False)
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--database", default=os.environ.get("LRS_BENCH_DB", "yanxiu_lrs_bench"))
    serving.add_argument("--server", default=os.environ.get("LRS_BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    serving.add_argument("--redis-url", default=os.environ.get("LRS_BENCH_REDIS", "redis://127.0.0.1:6379/15"),
                         help="cache for the rate counters ('' = per-process memory)")
    serving.add_argument("--code-dir", type=Path, default=Path(os.environ.get("LRS_CODE_DIR", str(REPO))))
    serving.add_argument("--python", default=sys.executable)
    serving.add_argument("--workers", type=int, default=2)
    serving.add_argument("--threads", type=int, default=int(os.environ.get("LRS_BENCH_THREADS", "4")))
    serving.add_argument("--rate", type=int, default=100_000, help="client requests per minute (max 100000)")
    serving.add_argument("--client-name", default="lrs-bench")
    serving.add_argument("--path", default="/xapi", help="the xAPI base path")
    serving.add_argument("--log-level", default="WARNING", help="Django's LOG_LEVEL")
    serving.add_argument("--default-version", default=os.environ.get("LRS_BENCH_DEFAULT_VERSION", "1.0.3"),
                         help="LRS_DEFAULT_XAPI_VERSION: the version answered to requests naming none")
    serving.add_argument("--access-log", action="store_true", help="write STATE/access.log")
    serving.add_argument("--index-worker", action=argparse.BooleanOptionalAction,
                         default=os.environ.get("LRS_BENCH_INDEX_WORKER", "1") == "1",
                         help="answer batches once stored, their after-work in a Celery worker, as in production "
                              "(LRS_BENCH_INDEX_WORKER=0: everything in the request)")
    serving.add_argument("--keep-data", action="store_true", default=os.environ.get("LRS_BENCH_KEEP") == "1",
                         help="serve the database as it is (e.g. filled by bench/lrs_fill.py) instead of dropping it; "
                              "the same state folder (its keys) must have created it (LRS_BENCH_KEEP=1)")
    sub.add_parser("start", parents=[common, serving])
    sub.add_parser("stop", parents=[common])
    run_parser = sub.add_parser("run", parents=[common, serving])
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    snap = sub.add_parser("snapshot")
    snap.add_argument("--out", type=Path, default=Path("/tmp/lrs-snap"))  # noqa: S108
    snap.add_argument("--rev", default="HEAD")
    for internal in ("_manage", "_serve"):
        p = sub.add_parser(internal)
        p.add_argument("--code-dir", type=Path, required=True)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if hasattr(args, "rest") and args.rest[:1] == ["--"]:
        args.rest = args.rest[1:]
    if hasattr(args, "code_dir"):
        args.code_dir = args.code_dir.resolve()
    if hasattr(args, "port") and args.state_dir is None:
        args.state_dir = Path(f"/tmp/yanxiu-lrs-bench-{args.port}")  # noqa: S108 - chmod 700 at start

    if args.action == "start":
        print_info(start(args))
    elif args.action == "stop":
        stop(args)
    elif args.action == "run":
        sys.exit(run(args))
    elif args.action == "snapshot":
        snapshot(args)
    elif args.action == "_manage":
        internal_manage(args)
    else:
        internal_serve(args)


if __name__ == "__main__":
    main()
