"""``tokenPrice`` and ``breakers``: read from the store, never from an upstream."""

from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types.price import (
    BestPrice,
    BreakerState,
    CircuitBreaker,
    PriceSource,
    TokenPrice,
)
from app.graphql.types.scalars import SafeInt
from app.prices import PriceView, SourceHealth, view
from app.rest import price as price_reads
from app.store import breakers as breaker_store


async def token_price(info: Info) -> TokenPrice:
    return from_view(await price_reads.read_view(info.context.state))


async def breakers(info: Info) -> list[CircuitBreaker]:
    async with info.context.pool.connection() as conn:
        rows = await breaker_store.list_breakers(conn)
    return [
        CircuitBreaker(
            name=row.name,
            provider=row.provider,
            state=BreakerState(row.state),
            failures=row.failures,
            opened_at=row.opened_at,
            changed_at=row.changed_at,
            updated_at=row.updated_at,
            transitions=SafeInt(row.transitions),
            age_seconds=row.age_seconds,
        )
        for row in rows
    ]


def from_view(found: PriceView) -> TokenPrice:
    best = found.best
    return TokenPrice(
        available=best is not None,
        price_usd=float(best.price_usd) if best else None,
        price_usd_raw=str(best.price_usd) if best else None,
        source=view.label(best) if best else None,
        timestamp=best.observed_at if best else None,
        stale=best.stale if best else True,
        age_seconds=best.age_seconds if best else None,
        message=view.message(found),
        best=BestPrice(
            price_usd=float(best.price_usd),
            price_usd_raw=str(best.price_usd),
            sources=list(best.sources),
            observed_at=best.observed_at,
            age_seconds=best.age_seconds,
            stale=best.stale,
        )
        if best
        else None,
        sources=[_source(s) for s in found.sources],
    )


def _source(s: SourceHealth) -> PriceSource:
    return PriceSource(
        source=s.source,
        price_usd=float(s.price_usd) if s.price_usd is not None else None,
        price_usd_raw=str(s.price_usd) if s.price_usd is not None else None,
        observed_at=s.observed_at,
        age_seconds=s.age_seconds,
        fresh=s.fresh,
        score=s.score,
        success_rate=s.success_rate,
        latency_ms=s.latency_ms,
        deviation=s.deviation,
        breaker=BreakerState(s.breaker) if s.breaker else None,
        last_outcome=s.last_outcome,
        last_detail=s.last_detail,
        last_at=s.last_at,
        used=s.used,
        excluded=s.excluded,
    )
