"""Log formatters: one JSON object per line in production (LOG_FORMAT=json), readable text in
development. Both name the request id.

The JSON lines carry the standard fields and only the extra fields listed here: a library that
attaches more to its records (Django attaches the whole request, whose text holds the query
string) cannot leak it into the logs. Add a field here before logging it."""

import logging

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

STANDARD_FIELDS = ("timestamp", "level", "logger", "message", "request_id", "exc_info", "stack_info")
EXTRA_FIELDS = frozenset({
    # a request's line (core.ops.middleware)
    "method", "route", "status", "duration_ms", "user_id",
    # Django's own request and server records
    "status_code",
    # task lines (core.ops.celery_signals)
    "task", "task_id",
    # health checks (core.ops.health)
    "check",
})
KEPT = frozenset(STANDARD_FIELDS) | EXTRA_FIELDS


class JsonFormatter(BaseJsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("json_ensure_ascii", False)  # Chinese messages stay readable
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_text:
            # The redaction filter already wrote the traceback's text (redacted): print that one,
            # not a fresh formatting of the exception.
            exc_info, record.exc_info = record.exc_info, None
            try:
                return super().format(record)
            finally:
                record.exc_info = exc_info
        return super().format(record)

    def process_log_record(self, log_data):
        return {key: value for key, value in log_data.items() if key in KEPT}


class TextFormatter(logging.Formatter):
    """Development: time, level, logger, [request id or -] and the message."""

    def __init__(self, *args, **kwargs):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id_text)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id_text = getattr(record, "request_id", None) or "-"
        return super().format(record)
