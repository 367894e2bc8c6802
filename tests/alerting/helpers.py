"""A healthy little world for alert tests: Polygon the only enabled chain, fresh, and a leader
with a live heartbeat, so that any alert a test sees is the one it caused."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from app.config import Config
from app.store import chains, coverage, ingest_status, workers
from app.store import pool as store_pool

LEADER = workers.WorkerIdentity("test:1:aa", "test", 1, "0", datetime.now(UTC))


def polygon_only(config: Config) -> Config:
    only = tuple(dataclasses.replace(c, enabled=c.id == 137) for c in config.chains)
    return dataclasses.replace(config, chains=only)


async def seed_healthy(pool: store_pool.Pool, config: Config) -> None:
    async with pool.connection() as conn, conn.transaction():
        await chains.upsert_chains(conn, config.chains)
        await coverage.add_range(conn, 137, 1000, 2000)
        await ingest_status.upsert_success(conn, 137, 2000, 1968, {})
        await workers.upsert_heartbeat(conn, LEADER, "leader")


async def execute(pool: store_pool.Pool, sql: Any, params: Any = None) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(sql, params)
