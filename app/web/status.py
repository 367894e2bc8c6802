"""``GET /status``: the human status page (server-rendered HTML, inline CSS, SVG and a little
vanilla JS; nothing from a CDN, so it works on a host without internet).

It renders the same health report as ``/api/health`` (app.ops.health) plus SLA figures per
price and finality source, computed from the stored observations
(``price_observations`` / ``finality_observations``) when those tables exist; before that
the SLA section says it is not available yet and the upstream call ledger stands in. The
page's script re-reads ``/api/health`` every 15 s and updates the live banner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from app.errors import TokenpulseError
from app.ops import health, state
from app.store import ops_health as store_ops
from app.store import pool as store_pool
from app.web import render

log = logging.getLogger(__name__)
KINDS = ("price", "finality")


@dataclass(frozen=True, slots=True)
class SourceSla:
    source: str
    span: str  # 1h or 24h
    calls: int
    success_rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


# kind -> rows; a kind missing from the mapping is "not available" (no table, or unreadable)
Sla = Mapping[str, Sequence[SourceSla]]


async def endpoint(request: Request) -> HTMLResponse:
    app_state = state.of(request)
    report = await health.collect(app_state)
    sla = await read_sla(app_state) if report.store_ready else {}
    html = render.page(report, sla, datetime.now(UTC))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def read_sla(app_state: state.AppState) -> Sla:
    wait = health.db_wait_seconds(app_state.config)
    try:
        return await asyncio.wait_for(_query_sla(app_state.pool, wait), wait + 2.0)
    except (TimeoutError, TokenpulseError) as exc:
        log.warning("status page: SLA figures unavailable", extra={"error": str(exc)})
        return {}


async def _query_sla(pool: store_pool.Pool, wait: float) -> Sla:
    found: dict[str, list[SourceSla]] = {}
    async with store_pool.transaction(pool, wait_seconds=wait) as conn:
        present = await store_ops.relations(conn)
        for kind, exists in zip(KINDS, (present.prices, present.finality), strict=True):
            if exists:
                rows = await store_ops.source_sla(conn, kind)
                found[kind] = [_sla(row) for row in rows]
    return found


def _sla(row: Mapping[str, Any]) -> SourceSla:
    return SourceSla(
        source=row["source"],
        span=row["span"],
        calls=int(row["calls"]),
        success_rate=float(row["success_rate"]),
        p50_ms=float(row["p50_ms"]),
        p95_ms=float(row["p95_ms"]),
        p99_ms=float(row["p99_ms"]),
    )


def routes() -> list[BaseRoute]:
    return [Route("/status", endpoint, methods=["GET"], name="status")]
