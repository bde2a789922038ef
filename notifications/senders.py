"""Sending outside the site: the daily digest by e-mail or SMS through one small interface, so a
province plugs in its own mail relay or SMS gateway by naming a class in NOTICE_SENDER.

A sender raises on failure; the digest task records the failure and tries again later. Web
requests never call a sender (they only write in-site messages)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send_email(self, to: str, subject: str, body: str) -> None: ...

    def send_sms(self, to: str, text: str) -> None: ...


def mask_email(address: str) -> str:
    """a***@example.cn: enough to tell accounts apart in a log, not enough to write to."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "***"


class LoggingSender:
    """The default: writes one log line per message (recipient masked, no body), sends nothing."""

    def send_email(self, to: str, subject: str, body: str) -> None:
        log.info("notice e-mail to %s: %s (%d characters)", mask_email(to), subject, len(body))

    def send_sms(self, to: str, text: str) -> None:
        log.info("notice SMS to %s (%d characters)", mask_phone(to), len(text))


@cache
def _sender_class(path: str) -> type:
    return import_string(path)


def get_sender() -> Sender:
    """The configured sender (settings.NOTICE_SENDER, a dotted path), a fresh instance per use."""
    return _sender_class(settings.NOTICE_SENDER)()
