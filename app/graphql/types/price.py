"""The token's price (``tokenPrice``) and the worker's circuit breakers (``breakers``)."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from app.graphql.types.scalars import SafeInt


@strawberry.enum(description="A circuit breaker's state.")
class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@strawberry.type(description="One price source: its last good price and its health.")
class PriceSource:
    source: str = strawberry.field(description="coingecko, coinmarketcap, dexscreener, ...")
    price_usd: float | None = strawberry.field(description="Its last good price, if any.")
    price_usd_raw: str | None = strawberry.field(description="The same as an exact decimal.")
    observed_at: datetime | None = strawberry.field(description="When that price was seen.")
    age_seconds: float | None
    fresh: bool = strawberry.field(description="Newer than TOKENPULSE_PRICE_STALE_SECONDS.")
    score: float = strawberry.field(
        description="0-1: success rate, latency, freshness, agreement (docs/prices.md)."
    )
    success_rate: float | None = strawberry.field(description="Over the last hour.")
    latency_ms: float | None = strawberry.field(description="Median over the last hour.")
    deviation: float | None = strawberry.field(
        description="Relative distance from the cross-source median of fresh prices."
    )
    breaker: BreakerState | None = strawberry.field(description="None: never published.")
    last_outcome: str | None = strawberry.field(
        description="ok, http_error, timeout, rate_limited, invalid or breaker_open."
    )
    last_detail: str | None
    last_at: datetime | None = strawberry.field(description="When it was last polled.")
    used: bool = strawberry.field(description="Part of the best price.")
    excluded: str | None = strawberry.field(
        description="Why not: no_price, stale, breaker_open or deviation."
    )


@strawberry.type(description="The consensus of the healthy sources.")
class BestPrice:
    price_usd: float
    price_usd_raw: str
    sources: list[str]
    observed_at: datetime = strawberry.field(description="Its newest observation.")
    age_seconds: float
    stale: bool = strawberry.field(description="True: the last-known-good, no fresh source.")


@strawberry.type(description="The token's price (as /api/token-price), from the store.")
class TokenPrice:
    available: bool = strawberry.field(description="False only if no source ever answered.")
    price_usd: float | None
    price_usd_raw: str | None
    source: str | None = strawberry.field(description="One source's name, or consensus.")
    timestamp: datetime | None = strawberry.field(description="The best price's observation.")
    stale: bool
    age_seconds: float | None
    message: str
    best: BestPrice | None
    sources: list[PriceSource]


@strawberry.type(description="A circuit breaker of the worker, as it last published it.")
class CircuitBreaker:
    name: str = strawberry.field(description="<provider>[:<chain or source>] <endpoint>")
    provider: str
    state: BreakerState
    failures: int = strawberry.field(description="Consecutive failures counted.")
    opened_at: datetime | None
    changed_at: datetime = strawberry.field(description="Its last transition.")
    updated_at: datetime = strawberry.field(description="When the worker last published it.")
    transitions: SafeInt = strawberry.field(description="State changes counted so far.")
    age_seconds: float = strawberry.field(description="Since updated_at.")
