"""The ingestion store modules in both schema modes: per-chain status with back-off, block
hash checkpoints, the rewind a reorg needs (rows, checkpoints and coverage above the fork)
and the reorg event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.config import Config
from app.domain import Transfer
from app.store import chains, coverage, ingest_status, reorgs, transfers
from app.store.pool import Connection

CHAIN = 137
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def transfer(block: int, log_index: int = 0, block_hash: str | None = None) -> Transfer:
    return Transfer(
        chain_id=CHAIN,
        block_time=BASE + timedelta(seconds=2 * block),
        block_number=block,
        block_hash=block_hash or "0x" + f"{block:064x}",
        tx_hash="0x" + f"{block * 100 + log_index:064x}",
        log_index=log_index,
        from_address="0x" + "a1" * 20,
        to_address="0x" + "b2" * 20,
        value=Decimal(10**18),
    )


@pytest.fixture
async def db(conn: Connection, config: Config) -> Connection:
    async with conn.transaction():
        await chains.upsert_chains(conn, config.chains)
    return conn


async def test_status_success_then_failures_back_off(db: Connection) -> None:
    assert await ingest_status.find(db, CHAIN) is None
    async with db.transaction():
        await ingest_status.upsert_success(db, CHAIN, 100, 90, {"inserted": 3})
    found = await ingest_status.find(db, CHAIN)
    assert found is not None
    assert (found.head, found.safe_head, found.consecutive_failures) == (100, 90, 0)
    assert found.last_cycle == {"inserted": 3}
    ends = []
    for _ in range(3):
        async with db.transaction():
            count, until = await ingest_status.upsert_failure(
                db, CHAIN, "boom", base_seconds=10, cap_seconds=25
            )
        ends.append((count, until))
    failed = await ingest_status.find(db, CHAIN)
    assert failed is not None
    assert failed.last_error_at is not None
    assert [count for count, _ in ends] == [1, 2, 3]
    # 10 s, then 20 s, then capped at 25 s after each failure.
    spans = [(until - failed.last_error_at).total_seconds() for _, until in ends[2:]]
    assert spans == [pytest.approx(25, abs=0.01)]
    assert (failed.head, failed.last_error) == (100, "boom")  # the head is kept
    async with db.transaction():
        await ingest_status.upsert_success(db, CHAIN, 101, 91, {})
    healed = await ingest_status.find(db, CHAIN)
    assert healed is not None
    assert (healed.consecutive_failures, healed.backoff_until) == (0, None)
    assert [s.chain_id for s in await ingest_status.list_all(db)] == [CHAIN]


async def test_recent_blocks_merge_rows_and_checkpoints_newest_first(db: Connection) -> None:
    async with db.transaction():
        await transfers.copy_transfers(db, [transfer(10), transfer(10, 1), transfer(12)], "rpc")
        await reorgs.upsert_block_hash(db, CHAIN, 15, "0x" + "ff" * 32, None)
        await reorgs.upsert_block_hash(db, CHAIN, 5, "0x" + "ee" * 32, None)
    known = await reorgs.list_recent_blocks(db, CHAIN, above=6, limit=10)
    assert [(k.number, k.hash) for k in known] == [
        (15, "0x" + "ff" * 32),
        (12, "0x" + f"{12:064x}"),
        (10, "0x" + f"{10:064x}"),
    ]
    assert len(await reorgs.list_recent_blocks(db, CHAIN, above=6, limit=2)) == 2
    async with db.transaction():
        assert await reorgs.delete_block_hashes_upto(db, CHAIN, 10) == 1
    assert [k.number for k in await reorgs.list_recent_blocks(db, CHAIN, 0, 10)] == [15, 12, 10]


async def test_delete_above_rewinds_rows_checkpoints_and_coverage(db: Connection) -> None:
    async with db.transaction():
        await transfers.copy_transfers(db, [transfer(b) for b in (10, 20, 21, 30)], "rpc")
        await coverage.add_range(db, CHAIN, 1, 25)
        await coverage.add_range(db, CHAIN, 28, 40)
        await reorgs.upsert_block_hash(db, CHAIN, 40, "0x" + "ff" * 32, None)
    async with db.transaction():
        assert await reorgs.delete_above(db, CHAIN, 20) == 2
        event = await reorgs.insert_event(db, CHAIN, 20, 40, 2, 1)
    assert await coverage.list_ranges(db, CHAIN) == [(1, 20)]
    assert [k.number for k in await reorgs.list_recent_blocks(db, CHAIN, 0, 10)] == [20, 10]
    events = await reorgs.list_events(db, CHAIN)
    assert [(e.id, e.fork_block, e.head, e.depth, e.rows_deleted) for e in events] == [
        (event, 20, 40, 20, 2)
    ]
    assert await reorgs.list_events(db, 1) == []


async def test_delete_above_keeps_a_range_ending_at_the_fork(db: Connection) -> None:
    async with db.transaction():
        await coverage.add_range(db, CHAIN, 1, 20)
        await reorgs.delete_above(db, CHAIN, 20)
    assert await coverage.list_ranges(db, CHAIN) == [(1, 20)]
