"""Request size limits, before any handler reads a byte: URL length and body size.

- A URL (path plus query string) longer than TOKENPULSE_MAX_URL_BYTES is answered 414
  ``uri_too_long``; no legitimate call comes near 4 KiB, and every REST parameter and a GET
  GraphQL query live in it.
- A body longer than TOKENPULSE_MAX_BODY_BYTES (POST /graphql is the only route that takes
  one) is answered 413 ``payload_too_large``: at once when Content-Length says so, else as
  soon as the chunks read add up to more. The body is read here (the GraphQL view reads it
  whole anyway) and handed on unchanged.

Both answers are the API's JSON error envelope (app.rest.errors).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.rest import errors

URI_TOO_LONG = "uri_too_long"
PAYLOAD_TOO_LARGE = "payload_too_large"


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_url_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_url = max_url_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if url_bytes(scope) > self.max_url:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1009})
                return
            message = f"The URL is longer than {self.max_url} bytes."
            await errors.response(414, URI_TOO_LONG, message)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            await self._bounded(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(scope, receive, send)
            return
        body = await read_at_most(receive, self.max_body)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body is larger than {self.max_body} bytes."
        response = errors.response(413, PAYLOAD_TOO_LARGE, message, headers={"Connection": "close"})
        await response(scope, receive, send)


def url_bytes(scope: Scope) -> int:
    path = scope.get("raw_path") or str(scope.get("path", "")).encode()
    return len(path) + len(scope.get("query_string", b""))


async def read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is longer than ``limit`` (or the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` once, then waits on the real one (disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
