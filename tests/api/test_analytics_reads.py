"""app.store.analytics_reads on its own: the largest transfers picked from the daily maxima
(ties, one bucket holding all of them, fewer buckets than rows asked), the newest transfer,
and, in timescale mode, a day the per-day refresh has not reached (raw distinct counts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.config import Config
from app.domain import Transfer
from app.store import analytics_reads as reads
from app.store import pool as pool_module
from tests.api import analytics_data as data
from tests.api import transfer_data

NAMES = {1: "Ethereum", 56: "BSC", 137: "Polygon"}


def row(chain_id: int, day: date, n: int, value: int, seconds: int = 0) -> Transfer:
    first = data.CHAINS[chain_id]
    return Transfer(
        chain_id=chain_id,
        block_time=data.midnight(day) + timedelta(seconds=seconds or n),
        block_number=first + (data.today() - day).days * 1000 + n,
        block_hash="0x" + f"{chain_id:08x}{n:056x}",
        tx_hash="0x" + f"{chain_id:04x}{day.toordinal():08x}{n:052x}",
        log_index=n % 4,
        from_address=data.ADDRESSES[n % 7],
        to_address=data.ADDRESSES[(n + 1) % 7],
        value=Decimal(value),
        tx_index=0,
    )


def reference(rows: Sequence[Transfer], chains: set[int], first: date | None) -> list[str]:
    sel = [
        r for r in rows if r.chain_id in chains and (first is None or r.block_time.date() >= first)
    ]
    sel.sort(key=lambda r: (-r.value, -r.block_time.timestamp(), r.chain_id, r.tx_hash))
    return [r.tx_hash for r in sel[:15]]


async def largest(pool: pool_module.Pool, chains: Sequence[int], first: date | None) -> list[str]:
    start = None if first is None else data.midnight(first)
    end = data.midnight(data.today() + timedelta(days=1))
    async with pool.connection() as conn:
        found = await reads.list_largest(conn, chains, (start, end), NAMES)
    return [t.tx_hash for t in found]


async def test_the_largest_transfers_come_from_the_days_that_can_hold_them(
    config: Config, pool: pool_module.Pool
) -> None:
    today = data.today()
    rows: list[Transfer] = []
    # 20 chain-days whose maximum is the same value (ties broken by time), plus small rows.
    for back in range(20):
        chain_id = (1, 56, 137)[back % 3]
        day = today - timedelta(days=back + 1)
        rows += [row(chain_id, day, 0, 10**21, seconds=100 + back)]
        rows += [row(chain_id, day, n, n * 10**18) for n in range(1, 6)]
    # One old day holding 18 transfers larger than any other: all 15 come from it.
    old = today - timedelta(days=60)
    rows += [row(56, old, 100 + n, 10**24 + n) for n in range(18)]
    async with pool.connection() as conn:
        await data.store(conn, config, rows)
    assert await largest(pool, [1, 56, 137], None) == reference(rows, {1, 56, 137}, None)
    assert (await largest(pool, [56], None))[0] == rows[-1].tx_hash
    # Within 30 days the old day is out: the 20 tied maxima, newest first, then nothing else.
    recent = today - timedelta(days=29)
    got = await largest(pool, [1, 56, 137], recent)
    assert got == reference(rows, {1, 56, 137}, recent)
    assert len(got) == 15
    for chain_id in (1, 137):
        assert await largest(pool, [chain_id], recent) == reference(rows, {chain_id}, recent)


async def test_fewer_days_than_rows_asked_and_an_empty_store(
    config: Config, pool: pool_module.Pool
) -> None:
    assert await largest(pool, [1, 56, 137], None) == []
    async with pool.connection() as conn:
        assert await reads.find_newest_transfer_at(conn, [1, 56, 137]) is None
    day = data.today() - timedelta(days=3)
    rows = [row(137, day, n, (n % 5) * 10**18) for n in range(40)]
    async with pool.connection() as conn:
        await data.store(conn, config, rows)
    assert await largest(pool, [137], None) == reference(rows, {137}, None)
    async with pool.connection() as conn:
        newest = await reads.find_newest_transfer_at(conn, [1, 56, 137])
    assert newest == max(r.block_time for r in rows)


async def test_a_day_not_refreshed_yet_counts_its_addresses_from_the_raw_rows(
    config: Config, pool: pool_module.Pool, mode: str
) -> None:
    if mode != "timescale":
        pytest.skip("real-time aggregation is a timescale feature (portable: the job's refresh)")
    rows = data.dataset(seed=3, days=10)
    want = data.expected(rows, "7d")
    async with pool.connection() as conn:
        # No refresh: sums in real time, no per-day rows yet.
        await transfer_data.store(conn, config, rows)
    start, end, _ = data.window("7d")
    ask = reads.Ask.of(None, [1, 56, 137], (start, end), None, NAMES, 18)
    async with pool.connection() as conn, conn.transaction():
        days = (await reads.read_inputs(conn, ask)).days
    assert {d.day for d in days} == set(want.days)
    for d in days:
        raw = want.days[d.day]
        assert (d.transfers, d.volume, d.largest) == (raw.count, raw.volume, raw.largest)
        assert (d.senders, d.receivers, d.active_addresses) == (
            raw.senders,
            raw.receivers,
            raw.active,
        )
        assert d.median_value is None


async def test_reading_inputs_gives_the_daily_sums_first_and_everything_at_its_end(
    config: Config, pool: pool_module.Pool, mode: str
) -> None:
    """In the block the first round trip's days are known (sums final) and the inputs are
    not; after it, the inputs equal read_inputs'. In timescale mode, without a refresh, the
    days' distinct counts are only complete at the end (raw rows of the second round trip)."""
    rows = data.dataset(seed=5, days=20)
    async with pool.connection() as conn:
        if mode == "timescale":  # no refresh: sums in real time, no per-day rows yet
            await transfer_data.store(conn, config, rows)
        else:
            await data.store(conn, config, rows)
    start, end, previous = data.window("7d")
    ask = reads.Ask.of(None, [1, 56, 137], (start, end), previous, NAMES, 18)
    async with pool.connection() as conn, conn.transaction():
        async with reads.reading_inputs(conn, ask) as reading:
            early = reading.days
            with pytest.raises(RuntimeError, match="end with the reading_inputs block"):
                _ = reading.inputs
        found = reading.inputs
    async with pool.connection() as conn, conn.transaction():
        alone = await reads.read_inputs(conn, ask)
    assert found == alone
    assert [(d.day, d.transfers, d.volume) for d in early] == [
        (d.day, d.transfers, d.volume) for d in found.days
    ]
    want = data.expected(rows, "7d")
    assert {d.day: d.active_addresses for d in found.days} == {
        day: raw.active for day, raw in want.days.items()
    }
    if mode == "timescale":
        assert all(d.active_addresses == 0 for d in early)
