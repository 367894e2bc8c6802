"""SLA statistics of the upstream calls the worker records: price observations (one row per
poll of a price source) and finality observations (one per probe of a chain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("sla")


@dataclass(frozen=True, slots=True)
class SourceStats:
    window_name: str  # "1h" or "24h"
    kind: str  # "price" or "finality"
    source: str
    calls: int
    successes: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    last_call_at: datetime

    @property
    def success_rate(self) -> float:
        return self.successes / self.calls


@wrap_exceptions
async def list_stats(conn: Connection, now: datetime) -> list[SourceStats]:
    """Each window's stats per kind and source with calls in it (1 h first, then 24 h)."""
    cur = await conn.execute(Q["list_stats"], {"now": now})
    return [SourceStats(**row) for row in await cur.fetchall()]
