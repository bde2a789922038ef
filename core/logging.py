"""Keep ID numbers and bearer tokens out of every log line (SECURITY 11)."""

import logging
import re

ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9_\-\.]+")


def redact(text: str) -> str:
    text = ID_NUMBER.sub(lambda match: match.group(1)[:3] + "*" * 11 + match.group(2)[-4:], text)
    return BEARER.sub(r"\1[redacted]", text)


class RedactPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
