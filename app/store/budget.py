"""The upstream rate budget in PostgreSQL: call slots per API key across every process.

Keys are identified only by their fingerprint (``key_id``, computed by app.upstreams); the
table refuses anything else. Each function takes a connection and never commits: keep the
transaction short around :func:`reserve`, since its row lock serialises the key's callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("budget")


@dataclass(frozen=True, slots=True)
class Reservation:
    """A granted slot (start after ``wait_seconds``), or a refusal for today's quota, in which
    case ``wait_seconds`` is the time until the quota resets (the next UTC midnight)."""

    wait_seconds: float
    quota_exhausted: bool


@dataclass(frozen=True, slots=True)
class Budget:
    key_id: str
    provider: str
    label: str
    next_allowed_at: datetime
    day: date
    calls_today: int
    daily_quota: int | None
    quota_exhausted: bool
    rate_limit_hits: int
    backoff_until: datetime | None
    backoff_seconds: float
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CallStats:
    hour: datetime
    key_id: str
    provider: str
    endpoint: str
    outcome: str
    calls: int
    total_latency_ms: float
    max_latency_ms: float


@wrap_exceptions
async def reserve(
    conn: Connection,
    key_id: str,
    provider: str,
    label: str,
    interval_seconds: float,
    daily_quota: int | None,
) -> Reservation:
    """Take the key's next call slot: one atomic upsert (see sql/queries/budget.sql).

    The slot starts at the latest of the key's next allowed time, now, and its back-off; the
    next allowed time moves one interval past it. The daily count resets when the UTC day
    changes; once it reaches ``daily_quota`` no slot is taken.
    """
    params = {
        "key_id": key_id,
        "provider": provider,
        "label": label,
        "interval_seconds": max(0.0, interval_seconds),
        "daily_quota": daily_quota,
    }
    cur = await conn.execute(Q["reserve"], params)
    row = await cur.fetchone()
    if row is None:  # an upsert with RETURNING always returns its row
        raise AssertionError("reserve returned no row")
    return Reservation(max(0.0, float(row["wait_seconds"])), bool(row["quota_exhausted"]))


@wrap_exceptions
async def record_rate_limited(conn: Connection, key_id: str, backoff_seconds: float) -> None:
    """Count a rate-limit answer and push the key's back-off at least ``backoff_seconds`` out."""
    params = {"key_id": key_id, "backoff_seconds": max(0.0, backoff_seconds)}
    await conn.execute(Q["record_rate_limited"], params)


@wrap_exceptions
async def record_call(
    conn: Connection,
    key_id: str,
    provider: str,
    endpoint: str,
    outcome: str,
    latency_ms: float,
) -> None:
    """Add one call to the key's hourly counters for ``endpoint`` and ``outcome``."""
    params = {
        "key_id": key_id,
        "provider": provider,
        "endpoint": endpoint,
        "outcome": outcome,
        "latency_ms": max(0.0, latency_ms),
    }
    await conn.execute(Q["record_call"], params)


@wrap_exceptions
async def list_budgets(conn: Connection) -> list[Budget]:
    """Every key's budget, for health (no secrets here: keys are fingerprints)."""
    cur = await conn.execute(Q["list_budgets"])
    return [Budget(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def list_calls(conn: Connection, hours: int = 24) -> list[CallStats]:
    """Hourly call counters of the last ``hours`` hours (and the current one), newest first."""
    cur = await conn.execute(Q["list_calls"], {"hours": hours})
    return [CallStats(**row) for row in await cur.fetchall()]
