"""Keep ID numbers and bearer tokens out of every log line: an ID number is masked by the
one masking rule (people.identity.id_mask), a bearer token replaced."""

import logging
import re

ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9_\-\.]+")


def redact(text: str) -> str:
    from people.identity import id_mask  # imported late: logging is configured before the apps load

    text = ID_NUMBER.sub(lambda match: id_mask(match.group(0)), text)
    return BEARER.sub(r"\1[redacted]", text)


class RedactPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
