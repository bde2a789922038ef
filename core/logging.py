"""Keep ID numbers and bearer tokens out of every log line: an ID number is masked by the
one masking rule (people.identity.id_mask), a bearer token replaced. The message and the text
of an attached traceback (an exception's message may quote its input) alike."""

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
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once set, so every handler prints the redacted text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
