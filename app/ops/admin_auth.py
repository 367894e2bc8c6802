"""Admin authentication: ``Authorization: Bearer <TOKENPULSE_ADMIN_TOKEN>``.

Every admin operation (GraphQL mutations such as ``setSetting``, admin REST endpoints) calls
:func:`check` (or :func:`guard` for a Starlette handler) before doing anything:

==========================================  ======  =====================
request                                     HTTP    code
==========================================  ======  =====================
no token configured (admin is turned off)   403     ``FORBIDDEN``
no ``Authorization: Bearer …`` credentials  401     ``UNAUTHENTICATED``
a bearer token that is not the admin token  403     ``FORBIDDEN``
==========================================  ======  =====================

The comparison runs in constant time (:func:`hmac.compare_digest` over the SHA-256 digests of
both, so that not even the token's length shows): the answer's timing says nothing about how
much of a guess was right. Neither the configured token nor the presented one is ever logged
or echoed in an error (the log Redactor also knows the configured one: Config.secrets).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from app.config import Settings
from app.errors import ClientError

log = logging.getLogger(__name__)
SCHEME = "bearer"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tokenpulse-admin"'}


class Unauthenticated(ClientError):
    """Authentication required: send Authorization: Bearer <admin token>."""

    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(ClientError):
    """The admin token is not valid."""

    code = "FORBIDDEN"
    status = 403


DISABLED = "admin operations are disabled: TOKENPULSE_ADMIN_TOKEN is not set"


def configured_token(settings: Settings) -> bytes | None:
    """The admin token's bytes, or None when admin operations are turned off (unset or blank)."""
    secret = settings.admin_token
    if secret is None or not secret.get_secret_value().strip():
        return None
    return secret.get_secret_value().strip().encode()  # as presented tokens are stripped


def bearer(authorization: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer <token>`` header (scheme in any case)."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != SCHEME or not credentials:
        return None
    return credentials


def check(settings: Settings, authorization: str | None, *, operation: str) -> None:
    """Return when ``authorization`` carries the admin token; raise Unauthenticated/Forbidden."""
    expected = configured_token(settings)
    if expected is None:
        _refused(operation, "disabled")
        raise Forbidden(DISABLED)
    presented = bearer(authorization)
    if presented is None:
        _refused(operation, "missing")
        raise Unauthenticated()
    if not hmac.compare_digest(_digest(presented.encode()), _digest(expected)):
        _refused(operation, "wrong")
        raise Forbidden()


def check_connection(connection: HTTPConnection, settings: Settings, *, operation: str) -> None:
    """:func:`check` against a request's (or a WebSocket handshake's) Authorization header."""
    check(settings, connection.headers.get("authorization"), operation=operation)


def guard(connection: HTTPConnection, settings: Settings, *, operation: str) -> JSONResponse | None:
    """For an admin REST handler: None when allowed, else the 401/403 JSON answer to return."""
    try:
        check_connection(connection, settings, operation=operation)
    except (Unauthenticated, Forbidden) as exc:
        headers = CHALLENGE if exc.status == 401 else None
        # The envelope of app.rest.errors, built here so ops does not depend on the REST layer.
        body = {"error": {"code": exc.code, "message": exc.message, "field": None}}
        return JSONResponse(body, status_code=exc.status, headers=headers)
    return None


def _digest(value: bytes) -> bytes:
    # Equal-length digests: compare_digest's time then says nothing about the token's length.
    return hashlib.sha256(value).digest()


def _refused(operation: str, reason: str) -> None:
    # The reason only: never the presented credentials, which may be a near-miss of the token.
    log.warning("admin request refused", extra={"operation": operation, "reason": reason})
