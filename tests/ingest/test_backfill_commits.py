"""Backfill commits windows in batches of TOKENPULSE_BACKFILL_COMMIT_ROWS rows (BufferedSink):
rows and their coverage still commit together, a stop request or an upstream error keeps
what was fetched, and a cancelled run writes nothing it had not committed."""

from __future__ import annotations

import asyncio

import pytest

from app.store.pool import Pool
from tests.ingest.helpers import covered, make_sim, opened, sim_config, sql, stored, truth

POLYGON = 137
DENSITY = {POLYGON: 20.0}
HISTORY_BLOCKS = 3_000_000  # about 30 windows, some 1,400 transfers
WINDOWS = {
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "20000",
    "TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS": "100000",
}


@pytest.fixture
def mode() -> str:
    return "portable"


class StopHere(Exception):
    """A stop request raised from the progress callback, as app.ingest.warm does."""


async def transactions(pool: Pool) -> int:
    """Transactions that wrote transfers: ingested_at is the transaction's start time."""
    found = await sql(pool, "select count(distinct ingested_at) as n from transfers")
    return int(found[0]["n"])


async def balances_match(pool: Pool) -> bool:
    """The balance sheet equals what the stored transfers add up to."""
    found = await sql(
        pool,
        """
        with sides as (
            select chain_id, to_address as address, value as delta from transfers
            union all
            select chain_id, from_address, -value from transfers
        ), sums as (
            select chain_id, address, sum(delta) as balance from sides group by 1, 2
        )
        select count(*) as n
        from sums s
        full join balances b using (chain_id, address)
        where s.balance is distinct from b.balance
        """,
    )
    return int(found[0]["n"]) == 0


@pytest.mark.parametrize(("commit_rows", "fewest", "most"), [(1, 20, 60), (500, 2, 5)])
async def test_windows_commit_in_batches_of_rows(
    database_url: str, pool: Pool, commit_rows: int, fewest: int, most: int
) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_BACKFILL_COMMIT_ROWS=str(commit_rows), **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    async with opened(config, pool, sim) as ingestor:
        report = await ingestor.backfill(POLYGON, first)
    rows = await stored(pool, POLYGON)
    assert len(rows) == len(set(rows)) == report.inserted
    assert set(rows) == truth(sim, POLYGON, from_block=first)
    assert await covered(pool, POLYGON) == [(first, report.to_block)]
    committed = await transactions(pool)
    assert fewest <= committed <= most
    if commit_rows > 1:  # several windows per transaction
        assert committed * 4 < report.windows
    assert await balances_match(pool)


async def test_one_transaction_when_everything_fits(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_BACKFILL_COMMIT_ROWS="100000", **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    async with opened(config, pool, sim) as ingestor:
        report = await ingestor.backfill(POLYGON, first)
    assert report.windows > 10
    assert await transactions(pool) == 1
    assert await covered(pool, POLYGON) == [(first, report.to_block)]
    assert len(await stored(pool, POLYGON)) == report.inserted > 1_000


async def test_a_stop_request_keeps_the_windows_fetched(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_BACKFILL_COMMIT_ROWS="100000", **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    windows = 0

    def progress(done: int, total: int) -> None:
        nonlocal windows
        windows += 1
        if windows == 8:
            raise StopHere

    async with opened(config, pool, sim) as ingestor:
        with pytest.raises(StopHere):
            await ingestor.backfill(POLYGON, first, progress=progress)
    [(lo, hi)] = await covered(pool, POLYGON)
    assert lo == first
    assert hi > first
    rows = await stored(pool, POLYGON)
    assert rows, "the windows before the stop were committed"
    every = truth(sim, POLYGON, from_block=first)
    assert set(rows) <= every  # a window's rows may be stored beyond what it sealed
    assert {row for row in rows if row[6] <= hi} == {row for row in every if row[6] <= hi}
    assert await transactions(pool) == 1
    assert await balances_match(pool)


async def test_a_cancelled_run_writes_nothing_uncommitted(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_BACKFILL_COMMIT_ROWS="100000", **WINDOWS)
    first = sim.world.head(POLYGON) - HISTORY_BLOCKS
    windows = 0
    async with opened(config, pool, sim) as ingestor:

        def progress(done: int, total: int) -> None:
            nonlocal windows
            windows += 1
            if windows == 8:
                task.cancel()  # a deposed leader: lands at the next request

        task = asyncio.create_task(ingestor.backfill(POLYGON, first, progress=progress))
        with pytest.raises(asyncio.CancelledError):
            await task
    assert windows == 8
    assert await covered(pool, POLYGON) == []
    assert await stored(pool, POLYGON) == []
