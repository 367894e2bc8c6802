"""Per-request plumbing as one pure ASGI middleware: request id, access log, metrics, catch-all.

One middleware rather than three so the request is timed once and the access log, the metrics
and the response header all agree on the same request id, status and duration. It is pure
ASGI (not BaseHTTPMiddleware) so that the context variable it sets is visible to the handler
and streaming responses are not buffered.

It also is the catch-all for exceptions no handler claimed: Starlette's ServerErrorMiddleware
would answer them outside this middleware, without the request id header and in text/plain.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logging as app_logging
from app.ops.metrics import UNMATCHED_ROUTE, Metrics
from app.rest import errors

log = logging.getLogger("app.requests")

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_for(headers: Headers) -> str:
    """The client's X-Request-ID when it is safe to log and echo, else a fresh one."""
    incoming = headers.get(HEADER)
    if incoming is not None and _VALID_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request (set by Starlette's router)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class _Exchange:
    """Wraps ``send``: stamps the request id header and remembers the status sent."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._request_id = request_id
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            MutableHeaders(scope=message)[HEADER] = self._request_id
        await self._send(message)


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(Headers(scope=scope))
        token = app_logging.request_id.set(request_id)
        exchange = _Exchange(send, request_id)
        started = time.perf_counter()
        try:
            await self._serve(scope, receive, exchange)
        finally:
            self._record(scope, exchange.status, time.perf_counter() - started)
            app_logging.request_id.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        try:
            await self.app(scope, receive, exchange.send)
        except Exception:
            log.exception("unhandled error", extra={"method": scope["method"]})
            if exchange.status is not None:
                raise  # the response has begun; only the server can end it now
            await errors.internal()(scope, receive, exchange.send)

    def _record(self, scope: Scope, status: int | None, seconds: float) -> None:
        # No response at all (the client went away mid-request) is logged as a 500, like the
        # server itself would answer an app that returned without responding.
        status = status or 500
        route = route_template(scope)
        if self.metrics is not None:
            self.metrics.observe(scope["method"], route, status, seconds)
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
