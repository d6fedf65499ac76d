"""Keep credentials out of the server's logs: query-string values in uvicorn's access lines and
WebSocket lines (`/ws?token=...`) are replaced by `***` before any handler sees them."""

from __future__ import annotations

import logging
import re

QUERY_VALUE = re.compile(r"=[^&\s\"]*")
REDACTED_LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact_path(text: str) -> str:
    """`/ws?token=abc&x=1` -> `/ws?token=***&x=***`; text without a query is returned as is."""
    path, sep, query = text.partition("?")
    if not sep:
        return text
    return path + sep + QUERY_VALUE.sub("=***", query)


class QueryStringRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_path(a) if isinstance(a, str) and a.startswith("/") else a
                for a in record.args
            )
        return True


def install_redaction() -> None:
    """Idempotent: one redactor per logger however many apps a process creates."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryStringRedactor) for f in logger.filters):
            logger.addFilter(QueryStringRedactor())
