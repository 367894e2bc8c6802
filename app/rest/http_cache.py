"""Cached JSON answers for the REST shims: rendered once, with a strong ETag and Cache-Control.

An answer is built by the endpoint, rendered to bytes and hashed once, then kept in a
section of the response cache (app.ops.transfer_service.cached): a hit costs a dictionary
lookup, neither a query nor a JSON encoding. Headers:

- ``ETag``: a strong validator, the BLAKE2b of the body; ``If-None-Match`` with it (or
  ``*``) answers 304 with no body. The legacy Express server had a weak ETag only.
- ``Cache-Control``: ``public, max-age=N`` where N is what is left of the entry's TTL, so a
  shared cache never keeps an answer longer than this process would; ``no-cache`` when the
  endpoint's TTL is 0 (revalidate every time; the ETag still saves the body).

Error answers go through app.rest.errors and carry neither header.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.ops import transfer_service as service
from app.ops.state import AppState

MEDIA_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    stored_at: float  # the cache clock when it was built


def render(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(header: str | None, etag: str) -> bool:
    """If-None-Match against a strong ETag, by weak comparison (RFC 9110 §13.1.2)."""
    if header is None:
        return False
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


async def respond(
    request: Request,
    state: AppState,
    section: str,
    ttl: float,
    key: Hashable,
    build: Callable[[], Awaitable[Any]],
    chains: frozenset[int] = frozenset(),
) -> Response:
    """The cached answer for ``key`` (built by ``build()`` on a miss), or a 304."""
    clock = state.cache.clock

    async def load() -> Rendered:
        body = render(await build())
        return Rendered(body, etag_of(body), clock())

    rendered = await service.cached(state, section, ttl, key, load, chains)
    headers = {"ETag": rendered.etag, "Cache-Control": _cache_control(ttl, rendered, clock())}
    if matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=MEDIA_TYPE, headers=headers)


def _cache_control(ttl: float, rendered: Rendered, now: float) -> str:
    if ttl <= 0:
        return "no-cache"
    left = max(0, int(ttl - (now - rendered.stored_at)))
    return f"public, max-age={left}"
