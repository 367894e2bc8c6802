"""Analytics aggregates of simulator data ingested by the real pipeline, in both schema modes:
the write path records the old ranges it fills (the simulator's history lies months back, far
outside any refresh policy's window), the analytics_refresh job refreshes them, and then every
daily figure and the distinct counts of 7/30/90-day and all-time windows equal a direct
computation over the stored raw transfers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from app.ingest import aggregates, warm
from app.store import analytics
from app.store import analytics_window as windows
from app.store import pool as pool_module
from tests.ingest.helpers import make_sim, opened, sim_config, sql

CHAINS = (1, 137)

DAILY_RAW = """
select chain_id, date_trunc('day', block_time, 'UTC') as day, count(*) as transfers,
       sum(value) as volume, max(value) as largest,
       count(distinct from_address) as senders, count(distinct to_address) as receivers
from transfers group by 1, 2
"""
ACTIVE_RAW = """
select count(distinct address) as n from (
    select from_address as address, block_time, chain_id from transfers
    union all
    select to_address, block_time, chain_id from transfers
) as sides
where block_time >= %(from)s and block_time < %(to)s
  and (%(chain)s::integer is null or chain_id = %(chain)s)
"""


async def test_ingested_history_is_aggregated_exactly(
    database_url: str, pool: pool_module.Pool
) -> None:
    sim = make_sim(density=0.05)
    config = sim_config(database_url, TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS="200000")
    config = dataclasses.replace(config, chains=tuple(c for c in config.chains if c.id in CHAINS))
    async with opened(config, pool, sim) as ingestor:
        for chain_id in CHAINS:
            await ingestor.sync_tip(chain_id)
        totals = await warm.fill_gaps(ingestor, pool, config, seconds=120)
    assert totals.errors == []
    assert (await sql(pool, "select count(*) as n from analytics_dirty"))[0]["n"] > 0
    report = await aggregates.refresh_once(config.settings)
    assert report.dirty > 0
    assert await sql(pool, "select * from analytics_dirty") == []

    raw = {(r["chain_id"], r["day"]): r for r in await sql(pool, DAILY_RAW)}
    assert sum(r["transfers"] for r in raw.values()) > 100
    stored = await sql(pool, "select * from analytics_daily")
    assert {(r["chain_id"], r["day"]): pick(r) for r in stored} == {
        key: pick(r) for key, r in raw.items()
    }
    last = max(day for _, day in raw)
    assert len({day for _, day in raw}) > 90  # the windows below cut through the history
    async with pool.connection() as conn:
        spans: list[int | None] = [7, 30, 90, None]
        for days in spans:
            window = analytics.Window() if days is None else analytics.Window.last_days(days, last)
            bounds = {
                "from": window.start or last - timedelta(days=10_000),
                "to": window.end or last + timedelta(days=1),
            }
            for chain in (None, *CHAINS):
                got = await windows.window_totals(conn, window, chain)
                want = await sql(pool, ACTIVE_RAW, bounds | {"chain": chain})
                assert got.active_addresses == want[0]["n"], (days, chain)


def pick(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in ("transfers", "volume", "largest", "senders", "receivers"))
