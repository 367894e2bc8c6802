"""Load generation for the transfers API benchmark: one request at a time, or N at once.

Requests go to a uvicorn server in another process over loopback, each worker on its own
keep-alive connection (bench.http1: a lean client, so the client's CPU does not set the
ceiling). A worker takes the next call of the shape's rotation, so pages, addresses and
cursors vary between requests. Every answer is checked (status 200; for GraphQL, no
``errors``): a failed request is counted and reported, never timed as a success.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.http1 import Connection

WARM_UP = 20


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None

    @property
    def payload(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body).encode()


@dataclass
class Sample:
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    problem: str | None = None

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


class Target:
    """Where requests go: a base URL, and a connection per worker."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def connect(self) -> Connection:
        return Connection(self.host, self.port)


async def call(conn: Connection, request: Call, payload: bytes | None) -> str | None:
    """None when the answer is a success; else what was wrong with it."""
    answer = await conn.request(request.method, request.path, payload)
    if answer.status != 200:
        return f"HTTP {answer.status}: {answer.body[:200]!r}"
    if request.body is not None and b'"errors"' in answer.body:
        return f"GraphQL errors: {answer.body[:200]!r}"
    return None


async def _timed(conn: Connection, request: Call, payload: bytes | None, sample: Sample) -> None:
    started = time.perf_counter()
    problem = await call(conn, request, payload)
    if problem is None:
        sample.latencies_ms.append((time.perf_counter() - started) * 1000)
    else:
        sample.errors += 1
        sample.problem = sample.problem or problem


def _rotation(calls: Sequence[Call]) -> itertools.cycle[tuple[Call, bytes | None]]:
    return itertools.cycle([(request, request.payload) for request in calls])


async def warm(target: Target, calls: Sequence[Call]) -> str | None:
    """Every call once (so caches that should be warm are), then WARM_UP more."""
    conn = target.connect()
    try:
        for request in [*calls, *itertools.islice(itertools.cycle(calls), WARM_UP)]:
            problem = await call(conn, request, request.payload)
            if problem is not None:
                return problem
    finally:
        await conn.close()
    return None


async def sequential(target: Target, calls: Sequence[Call], samples: int, seconds: float) -> Sample:
    """One request at a time: ``samples`` of them, or fewer when ``seconds`` run out."""
    sample, conn = Sample(), target.connect()
    rotation = _rotation(calls)
    started = time.perf_counter()
    deadline = started + seconds
    try:
        for _ in range(samples):
            request, payload = next(rotation)
            await _timed(conn, request, payload, sample)
            if time.perf_counter() > deadline:
                break
    finally:
        await conn.close()
    sample.seconds = time.perf_counter() - started
    return sample


async def concurrent(target: Target, calls: Sequence[Call], workers: int, seconds: float) -> Sample:
    """``workers`` clients back to back for ``seconds`` (requests in flight then finish)."""
    sample = Sample()
    rotation = _rotation(calls)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        conn = target.connect()
        try:
            while time.perf_counter() < deadline:
                request, payload = next(rotation)
                await _timed(conn, request, payload, sample)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    sample.seconds = time.perf_counter() - started
    return sample
