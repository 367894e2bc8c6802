"""SLA statistics: latency p50/p95/p99 and success rate per price source and per finality
source, over the last hour and the last 24 hours, from the stored call records
(app.store.sla). GraphQL ``sla`` serves them; the worker's ``sla_report`` job logs them as one
structured line (``event: "sla"``) every TOKENPULSE_SLA_LOG_INTERVAL_SECONDS, for log-based
alerting and dashboards without PostgreSQL access. The status page (app.web.status) reads the
same store function in its own bounded transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.ops import transfer_service
from app.ops.state import AppState
from app.store import pool as store_pool
from app.store import sla as store_sla
from app.store.sla import SourceStats

log = logging.getLogger(__name__)
WINDOWS = ("1h", "24h")
SECTION = "sla"


async def collect(pool: store_pool.Pool, now: datetime | None = None) -> list[SourceStats]:
    """Every window's statistics ending at ``now`` (default: the present)."""
    at = now or datetime.now(UTC)
    async with store_pool.read(pool) as conn:
        return await store_sla.list_stats(conn, at)


async def cached(state: AppState) -> list[SourceStats]:
    """:func:`collect` for the API, through the ``sla`` cache section: the statistics scan a
    day of call records, so many requests share one computation per
    TOKENPULSE_CACHE_TTL_FINALITY_SECONDS (entries also drop at each announced batch)."""

    async def load() -> list[SourceStats]:
        return await collect(state.pool)

    ttl = state.config.settings.cache_ttl_finality_seconds
    return await transfer_service.cached(state, SECTION, ttl, "all", load)


def line(stats: Sequence[SourceStats]) -> dict[str, Any]:
    """The log line's fields: ``{"sla": {"1h": {"price:coingecko": {...}}, "24h": ...}}``."""
    windows: dict[str, dict[str, Any]] = {name: {} for name in WINDOWS}
    for item in stats:
        windows.setdefault(item.window_name, {})[f"{item.kind}:{item.source}"] = {
            "calls": item.calls,
            "success_rate": round(item.success_rate, 4),
            "p50_ms": round(item.p50_ms, 1),
            "p95_ms": round(item.p95_ms, 1),
            "p99_ms": round(item.p99_ms, 1),
        }
    return {"sla": windows}


async def report(pool: store_pool.Pool) -> list[SourceStats]:
    """Log the SLA line (the worker's sla_report job) and return what it said."""
    stats = await collect(pool)
    log.info("sla", extra=line(stats))
    return stats
