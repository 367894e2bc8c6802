"""A backfill killed at any point resumes with no gap and no duplicate: coverage is the
checkpoint, written in the transaction of the rows it covers.

Two ways to kill it: the transport raises after K requests (a crash between requests, in
the middle of paging or before a proof), or the task is cancelled (anywhere, including
inside a write transaction, which then rolls back whole)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.simulator import Simulator
from app.store.pool import Pool
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth

POLYGON = 137
DENSITY = {POLYGON: 20.0}
HISTORY_BLOCKS = 3_000_000  # about 70 days, some 1,400 transfers
WINDOWS = {  # about 30 windows: many places to be killed
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "20000",
    "TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS": "100000",
}


@pytest.fixture
def mode() -> str:
    return "portable"


class Killed(Exception):
    """The process died."""


class DyingTransport(httpx.AsyncBaseTransport):
    """Forwards ``lives`` requests, then dies like a killed worker (no HTTP error: the
    gateway must not retry it)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lives: int) -> None:
        self.inner = inner
        self.lives = lives

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.lives <= 0:
            raise Killed
        self.lives -= 1
        return await self.inner.handle_async_request(request)


async def check_complete(pool: Pool, sim: Simulator, first: int, head: int) -> None:
    rows = await stored(pool, POLYGON)
    assert len(rows) == len(set(rows)), "duplicates after resuming"
    assert set(rows) == truth(sim, POLYGON, from_block=first)
    assert await covered(pool, POLYGON) == [(first, head)]


@pytest.mark.parametrize("lives", [3, 12, 25])
async def test_a_killed_backfill_resumes(database_url: str, pool: Pool, lives: int) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    dying = DyingTransport(httpx.ASGITransport(app=sim.app), lives)
    async with opened(config, pool, sim, transport=dying) as ingestor:
        with pytest.raises(Killed):
            await ingestor.backfill(POLYGON, first)
    partial = await covered(pool, POLYGON)
    async with opened(config, pool, sim) as ingestor:  # a new process
        tip = await ingestor.sync_tip(POLYGON)
        report = await ingestor.backfill(POLYGON, first)
    assert report.complete
    await check_complete(pool, sim, first, tip.head)
    if lives > 3:
        assert partial, "the first run should have covered something before dying"
        assert partial[0][0] == first
        assert report.from_block == first


@pytest.mark.parametrize("after", [2, 11])
async def test_a_cancelled_backfill_resumes(database_url: str, pool: Pool, after: int) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    async with opened(config, pool, sim) as ingestor:
        steps = 0

        def progress(done: int, total: int) -> None:
            nonlocal steps
            steps += 1
            if steps == after:
                task.cancel()  # lands at the next await: a request or a write

        task = asyncio.create_task(ingestor.backfill(POLYGON, first, progress=progress))
        with pytest.raises(asyncio.CancelledError):
            await task
        tip = await ingestor.sync_tip(POLYGON)
        report = await ingestor.backfill(POLYGON, first)
    assert report.complete
    await check_complete(pool, sim, first, tip.head)


async def test_progress_reports_blocks_of_the_gaps(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    seen: list[tuple[int, int]] = []
    async with opened(config, pool, sim) as ingestor:
        report = await ingestor.backfill(POLYGON, first, progress=lambda d, t: seen.append((d, t)))
    total = report.to_block - first + 1
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
