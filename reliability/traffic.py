"""API clients for the suites: a few concurrent clients hitting REST and GraphQL in a thread.

Each client takes the next route of the rotation, waits ``pause`` seconds, and repeats until
stopped. Every answer is classified, never only timed: ``ok`` (200 and, for GraphQL, no
``errors``), ``unavailable`` (503 JSON with a stable code, or a GraphQL error coded
``database_unavailable``: the database is away), ``error`` (any other status or body: a 500
is always a defect), ``timeout`` (no answer within the client's timeout: a hang),
``refused`` (no connection) and ``throttled`` (429: the public API's per-client limit).
Latencies are kept per route for every ``ok`` answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

TRANSFERS_QUERY = "{ transfers(first: 25) { nodes { chainId txHash logIndex blockNumber value } } }"
WARM_QUERY = "{ warmStatus { chainId status } }"
UNAVAILABLE_CODES = frozenset({"database_unavailable", "unavailable", "service_unavailable"})


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    query: str | None = None  # a GraphQL query, POSTed to ``path``


ROUTES = (
    Route("rest:transfers", "/api/transfers?chainId=0&page=1&pageSize=25"),
    Route("rest:transfers:chain", "/api/transfers?chainId=137&page=2&pageSize=50"),
    Route("rest:stats", "/api/stats"),
    Route("rest:chains", "/api/chains"),
    Route("rest:health", "/api/health"),
    Route("rest:holders", "/api/holders?chainId=137"),
    Route("graphql:transfers", "/graphql", TRANSFERS_QUERY),
    Route("graphql:warmStatus", "/graphql", WARM_QUERY),
)


@dataclass
class RouteStats:
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # the first few, for the report

    def add(self, outcome: str, ms: float, problem: str | None) -> None:
        self.outcomes[outcome] += 1
        if outcome == "ok":
            self.latencies_ms.append(ms)
        if problem and len(self.problems) < 5:
            self.problems.append(problem)

    def summary(self) -> dict[str, Any]:
        total = sum(self.outcomes.values())
        bad = total - self.outcomes["ok"]
        return {
            "requests": total,
            "outcomes": dict(sorted(self.outcomes.items())),
            "errorRate": round(bad / total, 4) if total else None,
            **percentiles(self.latencies_ms),
            "problems": self.problems,
        }


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in ms (nearest rank), None without samples."""
    ordered = sorted(values)

    def rank(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2)

    return {"p50Ms": rank(0.50), "p95Ms": rank(0.95), "p99Ms": rank(0.99), "maxMs": rank(1.0)}


def classify(route: Route, status: int, body: bytes) -> tuple[str, str | None]:
    """(outcome, problem) of one answer."""
    try:
        data = json.loads(body)
    except ValueError:
        return "error", f"HTTP {status}, not JSON: {body[:120]!r}"
    if status == 503 and isinstance(data, dict) and _code(data) in UNAVAILABLE_CODES:
        return "unavailable", None
    if status == 429:  # the public API's per-client limit (a setting), not a failure
        return "throttled", None
    if status != 200:
        return "error", f"HTTP {status}: {body[:200]!r}"
    errors = data.get("errors") if route.query and isinstance(data, dict) else None
    if not errors:
        return "ok", None
    codes = {str((item.get("extensions") or {}).get("code")) for item in errors}
    if codes <= UNAVAILABLE_CODES:
        return "unavailable", None
    return "error", f"GraphQL errors: {body[:200]!r}"


def _code(data: dict[str, Any]) -> str | None:
    error = data.get("error")
    return str(error.get("code")) if isinstance(error, dict) else None


async def request(client: httpx.AsyncClient, route: Route) -> tuple[str, float, str | None]:
    """Send one request; (outcome, milliseconds, problem)."""
    started = time.perf_counter()
    try:
        if route.query is None:
            answer = await client.get(route.path)
        else:
            answer = await client.post(route.path, json={"query": route.query})
    except httpx.TimeoutException:
        return "timeout", (time.perf_counter() - started) * 1000, f"timeout on {route.name}"
    except httpx.TransportError as exc:
        return "refused", (time.perf_counter() - started) * 1000, f"{type(exc).__name__}"
    ms = (time.perf_counter() - started) * 1000
    outcome, problem = classify(route, answer.status_code, answer.content)
    return outcome, ms, problem


class Traffic:
    """``clients`` concurrent clients on their own event loop thread, until ``stop``."""

    def __init__(
        self,
        base_url: str,
        clients: int,
        pause: float,
        timeout: float = 10.0,
        routes: Sequence[Route] = ROUTES,
    ) -> None:
        self.base_url, self.clients, self.pause, self.timeout = base_url, clients, pause, timeout
        self.routes = tuple(routes)
        self.stats: dict[str, RouteStats] = {route.name: RouteStats() for route in self.routes}
        self._halt = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.seconds = 0.0

    async def _client(self, index: int) -> None:
        rotation = itertools.islice(itertools.cycle(self.routes), index, None)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            for route in rotation:
                if self._halt.is_set():
                    return
                outcome, ms, problem = await request(client, route)
                self.stats[route.name].add(outcome, ms, problem)
                await asyncio.sleep(self.pause)

    async def _main(self) -> None:
        started = time.monotonic()
        await asyncio.gather(*(self._client(index) for index in range(self.clients)))
        self.seconds = time.monotonic() - started

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(self.timeout + 30)

    def totals(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for stats in self.stats.values():
            found.update(stats.outcomes)
        return found

    def summary(self) -> dict[str, Any]:
        totals = self.totals()
        requests = sum(totals.values())
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": requests,
            "requestsPerSecond": round(requests / self.seconds, 1) if self.seconds else None,
            "outcomes": dict(sorted(totals.items())),
            "routes": {name: stats.summary() for name, stats in self.stats.items()},
        }


@contextlib.contextmanager
def running(base_url: str, clients: int, pause: float, timeout: float = 10.0) -> Iterator[Traffic]:
    traffic = Traffic(base_url, clients, pause, timeout)
    traffic.start()
    try:
        yield traffic
    finally:
        traffic.stop()
