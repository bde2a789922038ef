"""Yanxiu settings: one module, every deployment choice from the environment.

YANXIU_ENV=dev (default) runs with SQLite, eager Celery and a generated local
key; YANXIU_ENV=prod refuses to start unless it is configured safely.
"""

import ipaddress
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from core.ops.static_headers import cache_hashed_for_a_year

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("YANXIU_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

YANXIU_ENV = env_str("YANXIU_ENV", "dev")
if YANXIU_ENV not in {"dev", "prod"}:
    raise ImproperlyConfigured("YANXIU_ENV must be 'dev' or 'prod'")
IS_PROD = YANXIU_ENV == "prod"

DEV_SECRET_KEY = "dev-insecure-yanxiu-secret-key-change-me-for-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY) or DEV_SECRET_KEY
DEBUG = env_bool("DEBUG", not IS_PROD)

if IS_PROD:
    if DEBUG:
        raise ImproperlyConfigured("YANXIU_ENV=prod refuses to start with DEBUG on")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("YANXIU_ENV=prod needs its own SECRET_KEY (50+ characters)")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PROD else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Above staticfiles so that its `runserver` (default --nostatic) wins: in development
    # WhiteNoise serves static files from the finders (it follows DEBUG), as it serves them
    # in production. Django's own dev static handler turned a path climbing out of the
    # static folders (/static/%2e%2e/...) into a 500 instead of a 404.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # serves Swagger UI from local static files instead of a CDN
    "core",
    "access",
    "audit",
    "org",
    "accounts",
    "people",
    "credits",
    "catalog",
    "lrs",
    "learning",
    "guidance",
    "institutions",
    "trainers",
    "notifications",
    "evaluation",
    "quotas",
    "funding",
    "synth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "core.middleware.ThrottledMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "core.middleware.RejectNulMiddleware",
    "core.middleware.RejectOutOfRangeNumberMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrMobileBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'yanxiu.sqlite3'}") or "",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if IS_PROD else 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and a CLI import run side by side.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django turns psycopg's prepared statements off (for transaction-pooling proxies, which this
    # deployment does not use). Its own cursors bind on the client and are never prepared either
    # way; this lets the few server-bound hot statements (core.dbtuning.bound_cursor) be planned
    # once per connection.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis in production, eager in-process on the embedded default.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not bool(REDIS_URL))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_EAGER_PROPAGATES = True
# Compliance snapshot rebuilt every night (on-track follows the calendar) and
# every COMPLIANCE_MAX_AGE_MINUTES after that when a page finds it stale.
CELERY_BEAT_SCHEDULE = {
    "compliance-refresh-nightly": {"task": "credits.tasks.compliance_refresh_all_task", "schedule": 24 * 3600},
    "ledger-checkpoint-nightly": {"task": "credits.tasks.ledger_checkpoint_task", "schedule": 24 * 3600},
    # A keyed checkpoint of the audit chain, so truncating it is found (copy the files off this host).
    "audit-checkpoint-nightly": {"task": "audit.tasks.audit_checkpoint_task", "schedule": 24 * 3600},
    "lrs-credits-sweep": {"task": "lrs.tasks.credits_sweep_task", "schedule": 5 * 60},
    # Stored batches whose after-work task was lost (readers finish them too, when they come).
    "lrs-index-sweep": {"task": "lrs.tasks.statements_index_task", "schedule": 60},
    "lrs-statement-partitions-daily": {"task": "lrs.tasks.statement_partitions_task", "schedule": 24 * 3600},
    # Every teacher's pushed courses, from a model fitted on every study history.
    "learning-push-nightly": {"task": "learning.tasks.push_refresh_all_task", "schedule": 24 * 3600},
    # Questions past their first-answer deadline go to the team lead, then to the level above.
    "guidance-escalate": {"task": "guidance.tasks.escalate_overdue_task", "schedule": 15 * 60},
    # Accreditations past their end date expire (institutions.machine, transition "expire").
    "institutions-expire-daily": {"task": "institutions.tasks.accreditations_expire_task", "schedule": 24 * 3600},
    # Tomorrow's sessions told to their enrolled teachers; the day's digest of unread messages, and
    # its failed sends retried (notifications.tasks). Beat runs in UTC: 17:00 and 18:30 in Beijing.
    "notifications-sessions-tomorrow": {"task": "notifications.tasks.sessions_tomorrow_task",
                                        "schedule": crontab(hour=9, minute=0)},
    "notifications-digest-daily": {"task": "notifications.tasks.digest_daily_task",
                                   "schedule": crontab(hour=10, minute=30)},
    "notifications-digest-retry": {"task": "notifications.tasks.digest_retry_task", "schedule": 30 * 60},
    # Closed rating windows get their response-rate base; unappealed eliminations past the appeal
    # period are confirmed (evaluation).
    "evaluation-rating-windows-close": {"task": "evaluation.tasks.rating_windows_close_task", "schedule": 24 * 3600},
    "evaluation-confirm-due-daily": {"task": "evaluation.performance.cases_confirm_due_task", "schedule": 24 * 3600},
    "evaluation-rating-reminders-daily": {"task": "evaluation.tasks.rating_reminders_task", "schedule": 24 * 3600},
}
# Who sends the digest by e-mail/SMS: a class with send_email(to, subject, body) and send_sms(to, text)
# (notifications.senders); the default only logs, masked. A province names its own gateway here.
NOTICE_SENDER = env_str("NOTICE_SENDER", "notifications.senders.LoggingSender") or "notifications.senders.LoggingSender"
# A digest whose sending failed this many times is left (its last error kept on the row).
NOTICE_DIGEST_MAX_ATTEMPTS = env_int("NOTICE_DIGEST_MAX_ATTEMPTS", 5)
# Expert guidance: the first answer is due this many hours after a question is asked; a question
# still unanswered this many hours after its lead was told goes to the administrators above.
GUIDANCE_FIRST_ANSWER_HOURS = env_int("GUIDANCE_FIRST_ANSWER_HOURS", 48)
GUIDANCE_ESCALATE_ABOVE_HOURS = env_int("GUIDANCE_ESCALATE_ABOVE_HOURS", 24)
# Similar-question matching: the projection fitted on past questions (`yanxiu questions fit`);
# without the file the plain e5 vectors are used (guidance.matching, docs/MATCHING.md).
GUIDANCE_MATCHER_MODEL = Path(env_str("GUIDANCE_MATCHER_MODEL", str(VAR_DIR / "guidance" / "matcher.npz")) or VAR_DIR / "guidance" / "matcher.npz")
COMPLIANCE_MAX_AGE_MINUTES = env_int("COMPLIANCE_MAX_AGE_MINUTES", 60)
# Projects of different organisers scoring at least this (0–1) are shown to planners as overlaps.
CATALOG_OVERLAP_THRESHOLD = float(env_str("CATALOG_OVERLAP_THRESHOLD") or "0.5")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "accounts.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.ContextWordValidator"},
]

# Log-in throttling: per account and per client address.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
# Failed log-ins only: successes from one address (a school computer room behind NAT) never count.
# LOGIN_MAX_ATTEMPTS_PER_IP is the variable's former name, still honoured.
LOGIN_MAX_FAILURES_PER_IP = env_int("LOGIN_MAX_FAILURES_PER_IP", env_int("LOGIN_MAX_ATTEMPTS_PER_IP", 30))
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Reverse proxies in front of the app that append to X-Forwarded-For (core.requests.client_ip).
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 1 if IS_PROD else 0)
EXPORT_MAX_PER_HOUR = env_int("EXPORT_MAX_PER_HOUR", 30)
# Wrong check-in codes a teacher may try in 15 minutes before check-in is refused for a while.
CHECK_IN_MAX_FAILURES = env_int("CHECK_IN_MAX_FAILURES", 10)
# Searches by a whole ID number per account (pages, API, exports, nominations, edits together);
# people.identity.id_mask's arithmetic assumes these: raising them shortens an enumeration.
ID_LOOKUP_MAX_PER_HOUR = env_int("ID_LOOKUP_MAX_PER_HOUR", 20)
ID_LOOKUP_MAX_PER_DAY = env_int("ID_LOOKUP_MAX_PER_DAY", 100)
# Personal API tokens expire: the default lifetime and the longest one may ask for.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
# /api/v1/docs and /api/v1/openapi.json: open in development (tests and schemathesis read
# the schema anonymously); in production only for a signed-in administrator.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", not IS_PROD)
# Page exports above this many rows need a second administrator's approval.
EXPORT_BULK_ROWS = env_int("EXPORT_BULK_ROWS", 5000)

# Sessions: absolute lifetime plus an idle timeout (stricter for administrators).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_IDLE_SECONDS_ADMIN = env_int("SESSION_IDLE_SECONDS_ADMIN", 30 * 60)
SESSION_IDLE_SECONDS_OTHER = env_int("SESSION_IDLE_SECONDS_OTHER", 2 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if IS_PROD:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end packages come from the npm registry at install time and are served
# from this host: government intranets have no internet, so no CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only the files the pages load (core.ops.static_finders), not whole package folders: collectstatic
# compresses each file it publishes (gzip and Brotli) once per deploy.
STATIC_NODE_FILES = {
    "vendor/echarts/echarts.min.js": NODE_MODULES / "echarts" / "dist" / "echarts.min.js",
    "vendor/htmx/htmx.min.js": NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "vendor/pico/pico.min.css": NODE_MODULES / "@picocss" / "pico" / "css" / "pico.min.css",
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "core.ops.static_finders.NodeFilesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PROD
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# The learning-record store (xAPI 1.0.3 and 2.0.0 at /xapi/).
LRS_PATH = "/xapi"
# The X-Experience-API-Version of answers to requests that name no valid version (refusals,
# About without the header): "1.0.3", or "2.0.0" where clients mainly speak 2.0.
LRS_DEFAULT_XAPI_VERSION = env_str("LRS_DEFAULT_XAPI_VERSION", "1.0.3") or "1.0.3"
# The authority stamped on stored statements names the client under this home page.
LRS_AUTHORITY_HOMEPAGE = env_str("LRS_AUTHORITY_HOMEPAGE", "https://yanxiu.example.org/xapi/clients") or ""
LRS_MAX_BATCH = env_int("LRS_MAX_BATCH", 1000)  # statements in one POST
LRS_PAGE_MAX = env_int("LRS_PAGE_MAX", 200)  # statements in one GET page
# PostgreSQL: answer a batch once its statements are stored and write its index rows,
# definitions and credits just after, in the worker (lrs.indexing). On wherever tasks go to a
# worker; with eager tasks it would only move the same work behind the commit.
LRS_INDEX_AFTER_COMMIT = env_bool("LRS_INDEX_AFTER_COMMIT", not CELERY_TASK_ALWAYS_EAGER)
LRS_MORE_MAX_AGE = env_int("LRS_MORE_MAX_AGE", 24 * 3600)  # seconds a `more` link stays good
LRS_MAX_REQUEST_BYTES = env_int("LRS_MAX_REQUEST_BYTES", 20 * 1024 * 1024)  # one request, attachments included
LRS_DOCUMENT_MAX_BYTES = env_int("LRS_DOCUMENT_MAX_BYTES", 1024 * 1024)  # one state or profile document
# Statements whose actor has an account on this home page are the platform's own users: the
# account name is the user name, so teachers match without registering an identity.
LRS_ACCOUNT_HOMEPAGE = env_str("LRS_ACCOUNT_HOMEPAGE", "https://yanxiu.example.org") or ""
# Crediting completions (lrs.crediting): a completion is held for an administrator when its
# timestamp is later than its arrival by more than the clock skew, earlier by more than the
# lag, or when less than this share of the activity's hours passed since the learner's first
# statement about the activity (0 turns that check off).
LRS_CREDIT_CLOCK_SKEW_SECONDS = env_int("LRS_CREDIT_CLOCK_SKEW_SECONDS", 300)
LRS_CREDIT_MAX_LAG_DAYS = env_int("LRS_CREDIT_MAX_LAG_DAYS", 30)
LRS_CREDIT_MIN_SPAN_PERCENT = env_int("LRS_CREDIT_MIN_SPAN_PERCENT", 25)
# The platform's player (learning.study): a beat every LEARNING_BEAT_SECONDS; a session with no
# accepted beat for LEARNING_SESSION_EXPIRY_SECONDS is over; reading counts as idle after
# LEARNING_IDLE_SECONDS without input; media plays at most LEARNING_MAX_RATE times real time.
LEARNING_BEAT_SECONDS = env_int("LEARNING_BEAT_SECONDS", 15)
LEARNING_SESSION_EXPIRY_SECONDS = env_int("LEARNING_SESSION_EXPIRY_SECONDS", 600)
LEARNING_IDLE_SECONDS = env_int("LEARNING_IDLE_SECONDS", 300)
LEARNING_MAX_RATE = 2.0
# Audit events form this many chains, each with its own locked head, so concurrent audited
# writes do not queue on one lock (audit.services). SQLite serialises writers anyway: one.
AUDIT_CHAINS = env_int("AUDIT_CHAINS", 1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 16)
# Keyed checkpoints of the audit log and the ledger (core.checkpoints): copy them off this host.
INTEGRITY_CHECKPOINT_DIR = Path(env_str("INTEGRITY_CHECKPOINT_DIR", str(VAR_DIR / "checkpoints")) or VAR_DIR / "checkpoints")
# The push's learned model, written by the nightly batch and read by every web process.
LEARNING_PUSH_MODEL = Path(env_str("LEARNING_PUSH_MODEL", str(VAR_DIR / "push" / "model.npz")) or VAR_DIR / "push" / "model.npz")
# The push model (links between courses) is refitted by the nightly batch when older than this.
LEARNING_PUSH_REFIT_DAYS = env_int("LEARNING_PUSH_REFIT_DAYS", 7)
# Choosing the push model's parameters refits it several times: done for histories up to this size.
LEARNING_PUSH_TUNE_MAX_EVENTS = env_int("LEARNING_PUSH_TUNE_MAX_EVENTS", 5_000_000)
# The model's links are fitted on at most this many teachers' histories (a fixed sample by id).
LEARNING_PUSH_FIT_TEACHERS = env_int("LEARNING_PUSH_FIT_TEACHERS", 300_000)
# A teacher's pushed list older than this is recomputed when they open it.
LEARNING_PUSH_MAX_AGE_HOURS = env_int("LEARNING_PUSH_MAX_AGE_HOURS", 24)
# Uploaded rosters and generated exports live outside the web root.
MEDIA_ROOT = VAR_DIR / "files"
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 200_000)
# Uploads above this size are imported by a background task, not in the request.
ROSTER_INLINE_MAX_BYTES = env_int("ROSTER_INLINE_MAX_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)

# Keys for personal data live outside the database (files or env), never in it. Each of the
# field and blind-index keys rotates: the new key becomes current, the former one is listed as
# retired (comma-separated) until `yanxiu keys status` shows nothing left under it. The integrity
# key signs the audit log and ledger; it defaults to the blind-index key (which signed them before)
# and must be set explicitly once that key rotates, so the chains keep verifying.
FIELD_ENCRYPTION_KEY = env_str("YANXIU_FIELD_KEY")
FIELD_ENCRYPTION_KEYS_RETIRED = env_list("YANXIU_FIELD_KEYS_RETIRED", [])
BLIND_INDEX_KEY = env_str("YANXIU_BLIND_INDEX_KEY")
BLIND_INDEX_KEYS_RETIRED = env_list("YANXIU_BLIND_INDEX_KEYS_RETIRED", [])
INTEGRITY_KEY = env_str("YANXIU_INTEGRITY_KEY")
if IS_PROD and not (FIELD_ENCRYPTION_KEY and BLIND_INDEX_KEY):
    raise ImproperlyConfigured("YANXIU_FIELD_KEY and YANXIU_BLIND_INDEX_KEY are required in prod")
if IS_PROD and BLIND_INDEX_KEYS_RETIRED and not INTEGRITY_KEY:
    raise ImproperlyConfigured("YANXIU_BLIND_INDEX_KEYS_RETIRED needs YANXIU_INTEGRITY_KEY (the former blind-index key) "
                               "in prod, or the audit log and ledger would stop verifying")

DEMO_PASSWORD = env_str("YANXIU_DEMO_PASSWORD", "")

# One JSON object per line in production (core.ops.log_format), readable text in development.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if IS_PROD else "text") or "text"
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.logging.RedactPersonalDataFilter"}},
    "formatters": {"json": {"()": "core.ops.log_format.JsonFormatter"},
                   "text": {"()": "core.ops.log_format.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Replace Django's own handlers (console in DEBUG, runserver's request
        # lines with query strings, admin mails), which do not redact: every
        # record goes through the one redacting handler.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 50

# Read replica (core.dbrouting): DATABASE_REPLICA_URL names a streaming replica of `default`.
# Only code under replica_reads()/@replica_view reads from it, and only while it is streaming and
# at most REPLICA_MAX_LAG seconds behind (probed every REPLICA_HEALTH_SECONDS per process); a
# browser that wrote stays on the primary for REPLICA_PIN_SECONDS. Unset: everything on default.
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 10)
REPLICA_MAX_LAG = env_int("REPLICA_MAX_LAG", 30)
REPLICA_HEALTH_SECONDS = env_int("REPLICA_HEALTH_SECONDS", 5)
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env_str("DATABASE_REPLICA_URL") or "", conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    # A dead replica host must not hold a page for long; tests read the primary's test database.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("REPLICA_CONNECT_TIMEOUT", 2)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.dbrouting.PrimaryReplicaRouter"]
MIDDLEWARE += ["core.dbrouting.ReplicaPinMiddleware"]
# Faults: a Redis restart must not fail pages (core.cache degrades to process memory, with a short
# socket timeout), and a worker killed mid-task must not lose it: acks_late (above) keeps the
# message until the task ends, a dead pool process requeues it at once, and a dead worker's
# message is handed out again after CELERY_VISIBILITY_TIMEOUT seconds, which must exceed the
# longest task (else a running task is given to a second worker). Every task is idempotent.
if REDIS_URL:
    _redis_cache: dict = {
        "BACKEND": "core.cache.FallbackRedisCache", "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5,
                    "retry_seconds": env_int("CACHE_RETRY_SECONDS", 5)},
    }
    CACHES = {"default": _redis_cache}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Celery closes the database connection before and after every task unless told to reuse it. A
# worker doing the LRS's after-work runs a task per stored batch, and a new connection for each
# (a server process forked, the session set up) cost it more than some of the tasks. Reused as a
# web process reuses its own: closed once older than CONN_MAX_AGE or broken (core.ops.celery_signals).
CELERY_DB_REUSE_MAX = 1000
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600),
    # How often a worker looks for messages whose worker died (kombu scans every Nth look).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
    # A worker killed while it held the restore lock blocks every restore until the lock expires.
    "unacked_mutex_expire": env_int("CELERY_UNACKED_MUTEX_EXPIRE", 60),
}

# --- Production serving and observability (docs/OPERATIONS.md, sections 3 and 4) --------------
# Load balancers and Prometheus probe these over plain HTTP, straight to gunicorn.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Hashed static names (collectstatic) are cached for a year as immutable.
WHITENOISE_ADD_HEADERS_FUNCTION = cache_hashed_for_a_year
# Outermost: the request id and request log line, then django-prometheus's timing; its counterpart
# innermost, where the URL is resolved (metrics labelled by route name, core.ops.http_metrics).
MIDDLEWARE = [
    "core.ops.middleware.RequestContextMiddleware",
    "core.ops.http_metrics.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "core.ops.http_metrics.RouteLabelledAfterMiddleware",
]
# /metrics answers these addresses (IPs or networks; the client address our proxies report) or a
# scraper sending "Authorization: Bearer METRICS_TOKEN"; anyone else gets 403.
try:
    METRICS_ALLOWED_IPS = [str(ipaddress.ip_network(entry, strict=False))
                           for entry in env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])]
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {error}") from error
METRICS_TOKEN = env_str("METRICS_TOKEN", "") or ""
# Prometheus multiprocess files: METRICS_DIR/web (gunicorn), METRICS_DIR/worker (Celery).
METRICS_DIR = Path(env_str("METRICS_DIR", str(VAR_DIR / "metrics")) or VAR_DIR / "metrics")
# `yanxiu worker`: the queues it consumes (and /metrics reports the depth of), its processes
# (0: one per core), and when a process is replaced (tasks run, memory in MB).
WORKER_QUEUES = env_list("WORKER_QUEUES", ["celery"])
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 0)
WORKER_MAX_TASKS_PER_CHILD = env_int("WORKER_MAX_TASKS_PER_CHILD", 100)
WORKER_MAX_MEMORY_MB = env_int("WORKER_MAX_MEMORY_MB", 1024)
# /readyz looks at unapplied migrations at most this often (the answer is kept meanwhile).
READYZ_MIGRATIONS_CACHE_SECONDS = env_int("READYZ_MIGRATIONS_CACHE_SECONDS", 10)
# The worker logs through LOGGING (JSON in production, with the request id), not Celery's format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
