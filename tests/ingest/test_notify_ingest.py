"""The ingester announces every committed window on tokenpulse_transfers: the events add up
to exactly what was stored, and cover exactly what was covered."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from app.config import Config
from app.store import notify
from app.store import pool as pool_module
from app.store.pool import Pool
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored


@pytest.fixture
def mode() -> str:
    return "portable"  # nothing here depends on the schema mode


async def _drain(conn: pool_module.Connection) -> list[notify.BatchEvent]:
    events: list[notify.BatchEvent] = []

    async def collect() -> None:
        async for event in notify.events(conn, keepalive=0.3):
            events.append(event)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), 1.0)
    return events


async def test_windows_are_announced_after_they_commit(
    database_url: str, pool: Pool, config: Config
) -> None:
    sim = make_sim(density=0.2)
    sim_cfg = sim_config(database_url, TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS="500")
    listener = await pool_module.connect(config.settings, autocommit=True)
    async with listener:
        await notify.listen(listener)
        async with opened(sim_cfg, pool, sim) as ingestor:
            tip = await ingestor.sync_tip(137)
        events = await _drain(listener)
    assert tip.windows > 1
    assert events, "no notification"
    assert {event.chain_id for event in events} == {137}
    assert sum(event.inserted for event in events) == len(await stored(pool, 137)) > 0
    assert min(e.from_block for e in events) == tip.from_block
    assert max(e.to_block for e in events) == tip.head
    assert await covered(pool, 137) == [(tip.from_block, tip.head)]
