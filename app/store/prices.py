"""Price observations: every poll of every price source, failures included (0013).

Written by the ``prices`` job (app.ingest.prices); read by the price API (best price and
per-source health), the SLA statistics and alert rules. A failed poll is a row with
``ok = false`` and no price, so success rates and "last-known-good" are both plain reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("prices")
DETAIL_MAX = 500  # characters of a failure's (redacted) reason kept with its row
OUTCOMES = frozenset(
    {"ok", "http_error", "timeout", "rate_limited", "invalid", "breaker_open", "error"}
)


@dataclass(frozen=True, slots=True)
class PriceObservation:
    """One poll of one source: a price (ok) or an outcome saying why there is none."""

    observed_at: datetime
    source: str
    ok: bool
    latency_ms: float
    price_usd: Decimal | None
    outcome: str
    detail: str | None = None
    quoted_at: datetime | None = None  # the source's own "last updated"
    liquidity_usd: float | None = None  # DEX liquidity behind the price

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown price outcome {self.outcome!r}")
        if self.ok != (self.outcome == "ok") or self.ok != (self.price_usd is not None):
            raise ValueError("an observation is ok exactly when it has a price")
        if self.price_usd is not None and not self.price_usd > 0:
            raise ValueError("a stored price is positive")


@dataclass(frozen=True, slots=True)
class SourceStats:
    """Calls, successes and latency percentiles of one source over a window."""

    source: str
    calls: int
    successes: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    last_at: datetime | None
    last_ok_at: datetime | None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.calls if self.calls else None


@wrap_exceptions
async def insert_observations(conn: Connection, rows: Sequence[PriceObservation]) -> None:
    """Append one poll's observations (the caller commits)."""
    params = [_params(row) for row in rows]
    if params:
        async with conn.cursor() as cur:
            await cur.executemany(Q["insert_observation"], params)


@wrap_exceptions
async def list_since(conn: Connection, since: datetime) -> list[PriceObservation]:
    """Every observation since ``since``, grouped by source, newest first."""
    cur = await conn.execute(Q["list_since"], {"since": since})
    return [_observation(row) for row in await cur.fetchall()]


@wrap_exceptions
async def list_latest(conn: Connection) -> list[PriceObservation]:
    """The newest observation of each source that was ever polled."""
    cur = await conn.execute(Q["list_latest"])
    return [_observation(row) for row in await cur.fetchall()]


@wrap_exceptions
async def list_last_good(conn: Connection) -> list[PriceObservation]:
    """Each source's newest successful observation: the last-known-good prices."""
    cur = await conn.execute(Q["list_last_good"])
    return [_observation(row) for row in await cur.fetchall()]


@wrap_exceptions
async def list_source_stats(conn: Connection, since: datetime) -> list[SourceStats]:
    """Per source since ``since``: calls, successes, latency p50/p95/p99 (milliseconds)."""
    cur = await conn.execute(Q["source_stats"], {"since": since})
    return [SourceStats(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def delete_observations_before(conn: Connection, before: datetime) -> int:
    """Prune history older than ``before`` (the prices job, once an hour)."""
    cur = await conn.execute(Q["delete_before"], {"before": before})
    return cur.rowcount


def _params(row: PriceObservation) -> dict[str, Any]:
    params = asdict(row)
    if row.detail is not None:
        params["detail"] = row.detail[:DETAIL_MAX]
    return params


def _observation(row: dict[str, Any]) -> PriceObservation:
    return PriceObservation(**row)


@dataclass(frozen=True, slots=True)
class PriceInputs:
    """What the price API needs, read in one snapshot: the scoring window, each source's
    last good observation, and the published breaker states (name, state)."""

    window: list[PriceObservation]
    last_good: list[PriceObservation]
    breakers: list[tuple[str, str]]
    now: datetime


@wrap_exceptions
async def read_inputs(conn: Connection, window_seconds: float) -> PriceInputs:
    """The price API's reads; the database's clock is ``now`` so ages match the rows."""
    cur = await conn.execute(Q["now"])
    row = await cur.fetchone()
    now: datetime = row["now"] if row else datetime.now(UTC)
    window = await list_since(conn, now - timedelta(seconds=window_seconds))
    last_good = await list_last_good(conn)
    cur = await conn.execute(Q["price_breakers"])
    breakers = [(r["name"], r["state"]) for r in await cur.fetchall()]
    return PriceInputs(window, last_good, breakers, now)
