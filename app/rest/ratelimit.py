"""Per-client rate limiting of the public API: a token bucket per client address.

Each client may make TOKENPULSE_RATE_LIMIT_BURST requests at once, refilled at
TOKENPULSE_RATE_LIMIT_PER_SECOND; a request finding its bucket empty is answered 429
``rate_limited`` with ``Retry-After`` (whole seconds until a token is back) and nothing runs.
Health, probes and metrics are exempt (an orchestrator or Prometheus must never be refused),
as are WebSocket subscriptions (one long-lived connection each; their handshake is cheap).

Who is the client: the peer address of the connection. Behind a reverse proxy every request
comes from the proxy, so the proxy's addresses go in TOKENPULSE_TRUSTED_PROXIES (off by
default: an X-Forwarded-For from anyone else is ignored, or any client could pick a fresh
bucket per request). From a trusted peer, X-Forwarded-For is read right to left and the first
address that is not a trusted proxy is the client. IPv6 clients are keyed by their /64, the
block one subscriber gets, so a client cannot walk through addresses of its own network.

The buckets live in this process: with N replicas behind a balancer a client gets up to N
times the rate (docs/security.md). At most MAX_CLIENTS buckets are kept, least recently seen
dropped first (a dropped bucket was full or nearly, so forgetting it grants nothing).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.rest import errors

CODE = "rate_limited"
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/api/health", "/api/cache-health"})
MAX_CLIENTS = 100_000
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Token buckets by client key; ``take`` answers 0 (allowed) or the seconds to wait."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        now = self.clock()
        bucket = self._buckets.pop(key, None) or Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        self._buckets[key] = bucket  # most recently seen last
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def client_key(scope: Scope, trusted: Iterable[Network]) -> str:
    """The rate-limit key of a request's client (see the module docstring)."""
    peer = scope.get("client")
    host = str(peer[0]) if peer else "unknown"
    trusted = tuple(trusted)
    if trusted and _is_trusted(host, trusted):
        forwarded = Headers(scope=scope).getlist("x-forwarded-for")
        hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _is_trusted(hop, trusted):
                host = hop
                break
    return _key(host)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(host: str, trusted: tuple[Network, ...]) -> bool:
    address = _address(host)
    return address is not None and any(address in network for network in trusted)


def _key(host: str) -> str:
    address = _address(host)
    if address is None:
        return host[:64]  # not an address (a test client, a garbled header): as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimit:
    """The ASGI middleware; ``buckets`` None means limiting is off (a rate of 0)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, registry: CollectorRegistry) -> None:
        self.app = app
        self.trusted = settings.trusted_proxy_networks
        rate = settings.rate_limit_per_second
        self.buckets = TokenBuckets(rate, settings.rate_limit_burst) if rate > 0 else None
        self.refused = Counter(
            "tokenpulse_http_rate_limited",
            "Requests refused with 429 by the per-client rate limit",
            registry=registry,
        )
        clients = Gauge(
            "tokenpulse_rate_limit_clients",
            "Clients with a rate-limit bucket in this process",
            registry=registry,
        )
        clients.set_function(lambda: len(self.buckets) if self.buckets is not None else 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(client_key(scope, self.trusted))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        self.refused.inc()
        seconds = max(1, math.ceil(wait))
        response = errors.response(
            429,
            CODE,
            f"Too many requests from this client; retry in {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)
