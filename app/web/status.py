"""``GET /status``: the human status page (server-rendered HTML, inline CSS, SVG and a little
vanilla JS; nothing from a CDN, so it works on a host without internet).

It renders the same health report as ``/api/health`` (app.ops.health) plus SLA figures per
price and finality source, from the one SLA query GraphQL ``sla`` and the ``sla`` log line
also use (app.store.sla), over the stored observations (``price_observations`` /
``finality_observations``) when both tables exist; before that the SLA section says it is not
available yet and the upstream call ledger stands in. The page's script re-reads
``/api/health`` every 15 s and updates the live banner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from app.errors import TokenpulseError
from app.ops import health, state
from app.ops import sla as ops_sla
from app.store import ops_health as store_ops
from app.store import pool as store_pool
from app.store import sla as store_sla
from app.store.sla import SourceStats
from app.web import render

log = logging.getLogger(__name__)
KINDS = ("price", "finality")


# kind -> its rows, each source's 1h then 24h; a kind missing from the mapping is "not
# available" (no table, or unreadable)
Sla = Mapping[str, Sequence[SourceStats]]


async def endpoint(request: Request) -> HTMLResponse:
    app_state = state.of(request)
    report = await health.collect(app_state)
    now = datetime.now(UTC)
    sla = await read_sla(app_state, now) if report.store_ready else {}
    html = render.page(report, sla, now)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def read_sla(app_state: state.AppState, now: datetime) -> Sla:
    wait = health.db_wait_seconds(app_state.config)
    try:
        return await asyncio.wait_for(_query_sla(app_state.pool, wait, now), wait + 2.0)
    except (TimeoutError, TokenpulseError) as exc:
        log.warning("status page: SLA figures unavailable", extra={"error": str(exc)})
        return {}


async def _query_sla(pool: store_pool.Pool, wait: float, now: datetime) -> Sla:
    async with store_pool.transaction(pool, wait_seconds=wait) as conn:
        present = await store_ops.relations(conn)
        # One query reads both tables, so without either there are no figures for any kind
        # (a schema between migrations 0013 and 0014, or a dropped table): all pending.
        if not (present.prices and present.finality):
            return {}
        stats = await store_sla.list_stats(conn, now)
    return by_kind(stats)


def by_kind(stats: Sequence[SourceStats]) -> Sla:
    """Every kind (empty when it had no call), its rows by source, then 1h before 24h."""
    found: dict[str, list[SourceStats]] = {kind: [] for kind in KINDS}
    order = sorted(stats, key=lambda item: (item.source, ops_sla.WINDOWS.index(item.window_name)))
    for item in order:
        found.setdefault(item.kind, []).append(item)
    return found


def routes() -> list[BaseRoute]:
    return [Route("/status", endpoint, methods=["GET"], name="status")]
