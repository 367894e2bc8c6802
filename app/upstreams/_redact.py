"""Keep API keys out of exception messages and log records.

Etherscan-style APIs take the key as a query parameter, so any URL is a leak waiting to
happen: httpx itself logs every request URL at INFO. Two defences:

- :func:`redact` strips ``apikey=…``-style parameters, URL user-info and every registered
  secret from a string; every message this package builds goes through it.
- :func:`install_log_filter` puts a filter on the ``httpx`` logger that rewrites each record
  through :func:`redact` before any handler (or pytest's caplog) sees it.

The set of registered secrets is process-global on purpose: logging is process-global too,
and a key must stay redacted whichever client logged it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "***"
_QUERY_SECRET = re.compile(
    r"(?i)\b(apikey|api_key|api-key|access_key|x_cg_demo_api_key|x_cg_pro_api_key)"
    r"(=|%3D)([^&\s'\"<>]+)"
)
_USERINFO = re.compile(r"(?i)\b(https?://)[^/@\s'\"]+@")
_HTTP_LOGGERS = ("httpx",)


class _SecretFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        # Format once with the args, then freeze the redacted text as the message.
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_FILTER = _SecretFilter()


def register(secrets: Iterable[str]) -> None:
    """Remember secrets (API keys, keyed RPC URLs) so they are redacted wherever they appear."""
    # Very short strings would redact innocent text; real keys are long.
    _FILTER.secrets.update(s for s in secrets if len(s) >= 6)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with key parameters, URL user-info and known secrets replaced by ``***``."""
    text = _QUERY_SECRET.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _USERINFO.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    known = sorted({*_FILTER.secrets, *(s for s in secrets if s)}, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    return text


def install_log_filter() -> None:
    """Attach the redacting filter to the HTTP client loggers; idempotent."""
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
