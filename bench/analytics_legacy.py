"""The legacy approach to ``/api/analytics``, the baseline of the analytics API benchmark.

What the legacy did on every uncached request (legacy-api.md §5): every figure from the raw
transfers of the window, in six parallel queries plus a previous-period summary (the daily
series with distinct addresses and medians, the window totals with distinct addresses, the
chain distribution, the top addresses, the largest transfers, the newest transfer; then the
previous period's totals). The same database, indexes and JSON encoding as the new API, so
the ratio measures the approach; the legacy's forecasts and z-scores (microseconds of
arithmetic on the daily rows) are left out, which only flatters the baseline.

    uvicorn --factory bench.analytics_legacy:create   (TOKENPULSE_DATABASE_URL from the env)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

WINDOW: LiteralString = " where block_time >= %(start)s and block_time < %(end)s"
SIDES: LiteralString = (
    " from transfers t cross join lateral (values (t.from_address), (t.to_address)) as s (address)"
)
QUERIES: dict[str, LiteralString] = {
    "daily": "select date_trunc('day', block_time, 'UTC') as day, count(*) as n,"
    " sum(value) as volume, percentile_cont(0.5) within group (order by value) as median"
    " from transfers" + WINDOW + " group by 1 order by 1",
    "daily_addresses": "select date_trunc('day', t.block_time, 'UTC') as day,"
    " count(distinct s.address) as n" + SIDES + WINDOW + " group by 1",
    "totals": "select count(*) as n, coalesce(sum(value), 0) as volume from transfers" + WINDOW,
    "chains": "select chain_id, count(*) as n, sum(value) as volume from transfers"
    + WINDOW
    + " group by chain_id order by volume desc",
    "addresses": "select s.address, count(*) as n, sum(t.value) as volume"
    + SIDES
    + WINDOW
    + " group by s.address order by n desc, volume desc limit 15",
    "whales": "select chain_id, tx_hash, log_index, from_address, to_address, value, block_time"
    " from transfers" + WINDOW + " order by value desc limit 15",
    "active": "select count(distinct s.address) as n" + SIDES + WINDOW,
}
PREVIOUS: LiteralString = (
    "select count(*) as n, coalesce(sum(value), 0) as volume from transfers" + WINDOW
)
DAYS = {"7d": 7, "30d": 30, "90d": 90}


def window(time_range: str, now: datetime) -> tuple[datetime, datetime, int | None]:
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = DAYS.get(time_range, 30 if time_range != "all" else None)
    if days is None:
        return datetime(1970, 1, 1, tzinfo=UTC), today + timedelta(days=1), None
    return today - timedelta(days=days - 1), today + timedelta(days=1), days


def plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value is not None and not isinstance(value, int) else value


def create() -> Starlette:
    pool = AsyncConnectionPool[AsyncConnection[DictRow]](
        os.environ["TOKENPULSE_DATABASE_URL"],
        min_size=8,
        max_size=10,
        kwargs={"row_factory": dict_row},
        open=False,
        timeout=600,
    )

    async def run(query: LiteralString, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cur = await conn.execute(query, params)
            return [{k: plain(v) for k, v in row.items()} for row in await cur.fetchall()]

    async def analytics(request: Request) -> JSONResponse:
        start, end, days = window(request.query_params.get("timeRange", "30d"), datetime.now(UTC))
        params = {"start": start, "end": end}
        names = list(QUERIES)
        found = await asyncio.gather(*(run(QUERIES[name], params) for name in names))
        body: dict[str, Any] = dict(zip(names, found, strict=True))
        if days is not None:
            before = {"start": start - timedelta(days=days), "end": start}
            body["previous"] = await run(PREVIOUS, before)
        return JSONResponse({"success": True, **body})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        try:
            yield
        finally:
            await pool.close()

    return Starlette(routes=[Route("/legacy/analytics", analytics)], lifespan=lifespan)
