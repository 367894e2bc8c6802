"""Fixtures for the API: apps served through starlette's TestClient, lifespan included.

``client`` talks to an app on a fresh migrated database (one per schema mode); ``offline``
to an app whose database refuses connections, for everything that must work without one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store import chains as store_chains
from app.store import coverage as store_coverage
from app.store import ingest_status as store_ingest_status
from app.store import pool as pool_module
from app.store import workers as store_workers
from tests.conftest import make_config

# Port 1 on loopback refuses at once; a short connection wait keeps "down" answers fast.
OFFLINE_DSN = "postgresql://postgres@127.0.0.1:1/tokenpulse"
OFFLINE_WAIT = "0.5"


def offline_config(**env: str) -> Config:
    return make_config(OFFLINE_DSN, **{"TOKENPULSE_DB_CONNECT_TIMEOUT": OFFLINE_WAIT, **env})


@pytest.fixture
def offline() -> Iterator[TestClient]:
    with TestClient(create_app(offline_config())) as client:
        yield client


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as test_client:
        yield test_client


def seed(config: Config, *, blocks: int = 100, leader: bool = False, synced: bool = False) -> None:
    """Mirror the configured chains, cover ``blocks`` blocks of each, optionally a leader and
    (``synced``) a successful tip cycle just now that reached the head."""
    asyncio.run(_seed(config, blocks, leader, synced))


async def _seed(config: Config, blocks: int, leader: bool, synced: bool) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn:
        await store_chains.upsert_chains(conn, config.chains)
        for chain in config.chains:
            if blocks:
                last = chain.first_block + blocks - 1
                await store_coverage.add_range(conn, chain.id, chain.first_block, last)
                if synced:
                    await store_ingest_status.upsert_success(conn, chain.id, last, last, {})
        if leader:
            worker = store_workers.WorkerIdentity(
                worker_id="test-worker-1",
                hostname="test-host",
                pid=4242,
                version="0.1.0",
                started_at=datetime.now(UTC),
            )
            await store_workers.upsert_heartbeat(conn, worker, "leader")
        await conn.commit()
