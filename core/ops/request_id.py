"""One id per request, carried into every log line it causes and into the Celery tasks it queues.

The id lives in a context variable: gunicorn's threads and Celery's task runs each see their own.
An incoming X-Request-ID (nginx's $request_id, a client's trace id) is kept when it is a plain
token; anything else is replaced, so a header can never smuggle text into the logs."""

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def safe_request_id(candidate: str | None) -> str | None:
    """The candidate when it is a plain token (letters, digits, . _ : -, at most 128), else None."""
    if candidate and SAFE_ID.fullmatch(candidate):
        return candidate
    return None


def current_request_id() -> str | None:
    return _current.get()


def bind_request_id(request_id: str | None):
    """Make `request_id` current; returns the token that `unbind_request_id` takes back."""
    return _current.set(request_id)


def unbind_request_id(token) -> None:
    _current.reset(token)


def install_record_factory() -> None:
    """Every log record gets a `request_id` attribute (None outside a request or task), whichever
    handler formats it: the JSON and text formatters and pytest's caplog alike."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = _current.get()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
