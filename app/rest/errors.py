"""The JSON error envelope of every HTTP endpoint, and the Starlette handlers that produce it.

Every error answer, whatever raised it, has the body::

    {"error": {"code": "not_found", "message": "Not Found", "field": null}}

``code`` is stable (clients branch on it); ``message`` is for humans; ``field`` names the
offending input when there is one. A 5xx answer never carries exception text: it may hold SQL,
host names or secrets, so the client gets the class's default message and the log gets the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import TokenpulseError

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Internal error."
_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal",
    503: "unavailable",
}


def code_for_status(status: int) -> str:
    return _CODES.get(status, "bad_request" if status < 500 else "internal")


def public_message(exc: TokenpulseError) -> str:
    """What a client may read of an application error."""
    if exc.status < 500:
        return exc.message
    return (type(exc).__doc__ or INTERNAL_MESSAGE).strip()


def body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(body(code, message, field), status_code=status, headers=headers)


def internal() -> JSONResponse:
    return response(500, "internal", INTERNAL_MESSAGE)


def log_application_error(exc: TokenpulseError, *, where: str) -> None:
    """Server-side failures get a log line; a 503 (database away) without a traceback, as it
    repeats on every request of an outage and the traceback says nothing new."""
    extra = {"code": exc.code, "where": where}
    if exc.status == 503:
        log.warning("request failed: %s", exc.message, extra=extra)
    elif exc.status >= 500:
        log.error("request failed: %s", exc.message, exc_info=exc, extra=extra)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 and any HTTPException raised by a handler."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status in {204, 304}:  # no body allowed
        return Response(status_code=status, headers=exc.headers)
    message = exc.detail if status < 500 else INTERNAL_MESSAGE
    return response(status, code_for_status(status), message, headers=exc.headers)


async def application_error(request: Request, exc: Exception) -> Response:
    """Any app.errors exception that reached the HTTP layer: its status and code."""
    assert isinstance(exc, TokenpulseError)
    log_application_error(exc, where=request.url.path)
    return response(exc.status, exc.code, public_message(exc), exc.field)


HANDLERS = {HTTPException: http_exception, TokenpulseError: application_error}
