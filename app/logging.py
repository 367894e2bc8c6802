"""JSON logs (one object per line), rotation by size or time, and secret redaction.

Every record carries ts, level, logger and event, plus the request id of the request being
served (set by the ASGI middleware through a context variable) and any ``extra=`` fields.
Secrets are redacted in the formatter, the last step before a byte leaves the process, so no
code path can leak a key by logging it.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from app.config import Settings

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REDACTED = "***"
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class Redactor:
    """Replaces every known secret in a string; shared by the formatters."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a key that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class _Json(JsonFormatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(json_ensure_ascii=False)
        self.redact = redact

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["ts"] = datetime.fromtimestamp(record.created, UTC).isoformat()
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["event"] = record.getMessage()
        rid = request_id.get()
        if rid is not None:
            log_data["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                log_data[key] = value
        if record.exc_info:
            log_data["exc_info"] = self.formatException(record.exc_info)
        log_data.update(message_dict)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class _Console(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def file_handler(settings: Settings, path: Path) -> logging.Handler:
    """The log file's handler: rotated by time when TOKENPULSE_LOG_ROTATE_WHEN is set
    (UTC, so a "midnight" file is a UTC day), otherwise by size."""
    if settings.log_rotate_when is not None:
        return logging.handlers.TimedRotatingFileHandler(
            path,
            when=settings.log_rotate_when,
            interval=settings.log_rotate_interval,
            backupCount=settings.log_backup_count,
            encoding="utf-8",
            utc=True,
        )
    return logging.handlers.RotatingFileHandler(
        path,
        maxBytes=settings.log_max_bytes,
        backupCount=settings.log_backup_count,
        encoding="utf-8",
    )


def configure(settings: Settings, secrets: Iterable[str] = ()) -> None:
    """Install the root handler once per process; later calls replace it."""
    redact = Redactor(secrets)
    formatter: logging.Formatter = (
        _Json(redact) if settings.log_format == "json" else _Console(redact)
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(file_handler(settings, settings.log_file))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn's access log duplicates our request log line; keep its errors only.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every request at INFO; the ingest logs one line per cycle with the counts
    # instead, so keep httpx's lines for DEBUG runs.
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
