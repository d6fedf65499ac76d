"""Secrets (webhook URLs, bot tokens) scrubbed from log records."""

from __future__ import annotations

import logging
import threading


class SecretRedactingFilter(logging.Filter):
    """Replaces registered secrets in log records of the loggers it is attached to."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            redacted = self.redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


REDACTOR = SecretRedactingFilter()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(REDACTOR)
