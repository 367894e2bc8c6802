"""Analytics aggregates against the raw transfers, in both schema modes: every hourly and
daily bucket, per chain and global, exact distinct counts over 7/30/90-day and all-time
windows, the backfill trap, real-time buckets, retention, idempotent refreshes, empty data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from psycopg import errors

from app.config import Config
from app.domain import Transfer
from app.ingest import aggregates
from app.ingest.ranges import StoreSink
from app.store import analytics
from app.store import analytics_window as windows
from app.store import pool as pool_module
from app.store import transfers as store_transfers
from app.store.batch import fetch as fetch_read
from tests.conftest import make_config
from tests.store import analytics_data as data

Pool = pool_module.Pool
Conn = pool_module.Connection
NOW = datetime.now(UTC)
TODAY = data.day_of(NOW)
SUMS = ("transfers", "volume", "volume_squares", "largest", "mints", "minted", "burns", "burned")
UNIQUES = ("senders", "receivers", "active_addresses")
WINDOW_SUMS = ("transfers", "volume", "largest")  # what an answer shows of a window


@pytest.fixture(autouse=True)
def today_at_start() -> None:
    """NOW and TODAY when the test starts, not when the module was imported: a suite that
    crosses UTC midnight in between would put the test's rows on the day before the
    database's now()."""
    global NOW, TODAY
    NOW = datetime.now(UTC)
    TODAY = data.day_of(NOW)


async def load(pool: Pool, rows: Sequence[Transfer]) -> None:
    async with pool.connection() as conn, conn.transaction():
        await store_transfers.copy_transfers(conn, rows, "etherscan")


async def fetch(pool: Pool, query: Any, params: Any = None) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()


def expected_daily(bucket: data.Bucket) -> dict[str, object]:
    return bucket.sums() | bucket.uniques() | {"median_value": bucket.median()}


async def check_daily(pool: Pool, rows: Sequence[Transfer]) -> None:
    """analytics_daily (per chain) and analytics_daily_global equal the reference."""
    per_chain = data.buckets(rows, lambda t: (t.chain_id, data.day_of(t.block_time)))
    stored = await fetch(pool, "select * from analytics_daily")
    assert {(r["chain_id"], r["day"]): pick(r) for r in stored} == {
        key: expected_daily(b) for key, b in per_chain.items()
    }
    per_day = data.buckets(rows, lambda t: data.day_of(t.block_time))
    stored = await fetch(pool, "select * from analytics_daily_global")
    assert {r["day"]: pick(r) for r in stored} == {
        key: expected_daily(b) for key, b in per_day.items()
    }


async def check_hourly(pool: Pool, rows: Sequence[Transfer], since: datetime) -> None:
    recent = [t for t in rows if t.block_time >= since]
    per_chain = data.buckets(recent, lambda t: (t.chain_id, data.hour_of(t.block_time)))
    stored = await fetch(pool, "select * from analytics_hourly where bucket >= %s", (since,))
    want = {
        key: b.sums() | {"senders": len(b.senders), "receivers": len(b.receivers)}
        for key, b in per_chain.items()
    }
    assert {(r["chain_id"], r["bucket"]): pick(r, senders=True) for r in stored} == want


def pick(row: dict[str, Any], *, senders: bool = False) -> dict[str, object]:
    if senders:  # hourly: distinct senders and receivers, no active addresses
        return {k: row[k] for k in (*SUMS, "senders", "receivers")}
    return {k: row[k] for k in (*SUMS, *UNIQUES, "median_value")}


async def check_windows(pool: Pool, rows: Sequence[Transfer]) -> None:
    """Window totals (exact distinct counts), top addresses and chain shares."""
    spans = [analytics.Window.last_days(n, NOW) for n in (1, 7, 30, 90)] + [analytics.Window()]
    async with pool.connection() as conn:
        for window in spans:
            for chain_id in (None, *data.CHAINS):
                ref = data.window(rows, window.start, window.end, chain_id)
                got = await windows.window_totals(conn, window, chain_id)
                figures = {k: ref.sums()[k] for k in WINDOW_SUMS} | ref.uniques()
                assert {k: getattr(got, k) for k in (*WINDOW_SUMS, *UNIQUES)} == figures
                scope = [t for t in rows if chain_id is None or t.chain_id == chain_id]
                assert got.days == len(
                    {data.day_of(t.block_time) for t in scope if in_window(t, window)}
                )
                if window.start is not None:  # the period before, read with the window
                    await check_previous(conn, rows, window, chain_id)
                inside = [t for t in rows if in_window(t, window)]
                top = await windows.top_addresses(conn, window, chain_id, limit=5)
                want = data.top_addresses(inside, chain_id)[:5]
                assert [(a.address, a.sent, a.received, a.sent_volume, a.received_volume)
                        for a in top] == want  # fmt: skip
            shares = await windows.chain_distribution(conn, window)
            ref_shares = {c: data.window(rows, window.start, window.end, c) for c in data.CHAINS}
            assert {s.chain_id: (s.transfers, s.volume, s.active_addresses) for s in shares} == {
                c: (len(b.values), b.sums()["volume"], len(b.senders | b.receivers))
                for c, b in ref_shares.items()
                if b.values
            }
            volumes = [s.volume for s in shares]
            assert volumes == sorted(volumes, reverse=True)


async def check_previous(
    conn: Conn, rows: Sequence[Transfer], window: analytics.Window, chain_id: int | None
) -> None:
    """The sums of the period before a window read alone (a custom range's previous period)
    equal the raw transfers'."""
    before = window.previous()
    found = await fetch_read(conn, windows.sums_read(before, chain_id))
    ref = data.window(rows, before.start, before.end, chain_id)
    assert (found.transfers, found.volume, found.largest) == (
        len(ref.values),
        ref.sums()["volume"],
        ref.sums()["largest"],
    )
    scope = [t for t in rows if chain_id is None or t.chain_id == chain_id]
    assert found.days == len({data.day_of(t.block_time) for t in scope if in_window(t, before)})


def in_window(t: Transfer, window: analytics.Window) -> bool:
    return (window.start is None or t.block_time >= window.start) and (
        window.end is None or t.block_time < window.end
    )


# -- the tests ---------------------------------------------------------------------------


async def test_aggregates_equal_the_raw_transfers(config: Config, pool: Pool) -> None:
    rows = data.rows(120, now=NOW)
    await load(pool, rows)
    assert await aggregates.backfill(config.settings, 120, now=NOW) == 120
    await check_daily(pool, rows)
    await check_hourly(pool, rows, TODAY - timedelta(days=80))
    await check_windows(pool, rows)
    async with pool.connection() as conn:
        series = await windows.daily_series(conn, analytics.Window.last_days(30, NOW), 56)
    ref = data.buckets(
        [t for t in rows if t.chain_id == 56 and t.block_time >= TODAY - timedelta(days=29)],
        lambda t: data.day_of(t.block_time),
    )
    assert [(p.day, p.transfers, p.active_addresses) for p in series] == [
        (day, len(b.values), len(b.senders | b.receivers)) for day, b in sorted(ref.items())
    ]


async def test_a_backfill_into_old_days_reaches_the_aggregates(config: Config, pool: Pool) -> None:
    """The backfill trap: rows written long after their buckets were computed (outside any
    refresh policy's window) are recorded by the write path and refreshed by the job."""
    rows = data.rows(40, now=NOW, seed=5)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 40, now=NOW)
    old = [
        t
        for t in data.rows(60, now=NOW, seed=6, chains=(137,))
        if t.block_time < TODAY - timedelta(days=20)
    ]
    old = [replace_block(t, 900_000 + i) for i, t in enumerate(old)]
    await StoreSink(pool, 137, "etherscan").put(old, 1, 0)  # the ingestion write path
    dirty = await fetch(pool, "select chain_id, from_time, to_time from analytics_dirty")
    assert dirty == [
        {
            "chain_id": 137,
            "from_time": min(t.block_time for t in old),
            "to_time": max(t.block_time for t in old),
        }
    ]
    with pytest.raises(AssertionError):
        await check_daily(pool, [*rows, *old])  # not refreshed yet: the trap
    report = await aggregates.refresh_once(config.settings, now=NOW)
    assert report.dirty == 1
    assert await fetch(pool, "select * from analytics_dirty") == []
    await check_daily(pool, [*rows, *old])
    await check_windows(pool, [*rows, *old])


def replace_block(t: Transfer, block: int) -> Transfer:
    return replace(t, block_number=block, block_hash="0x" + f"{t.chain_id:08x}{block:056x}")


async def test_recent_rows_are_not_recorded_as_dirty(pool: Pool) -> None:
    recent = data.rows(2, now=NOW, seed=8)
    async with pool.connection() as conn, conn.transaction():
        assert await analytics.mark_rows(conn, recent) == 0
        old = data.rows(5, now=NOW - timedelta(days=10), seed=8, chains=(1,))
        assert await analytics.mark_rows(conn, old) == 1


async def test_refresh_is_idempotent_and_follows_deletions(config: Config, pool: Pool) -> None:
    rows = data.rows(15, now=NOW, seed=9)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 15, now=NOW)
    snapshot = await everything(pool)
    await aggregates.backfill(config.settings, 15, now=NOW)
    assert await everything(pool) == snapshot
    # Rows deleted from transfers (a repair) leave their buckets at the next refresh.
    gone_day = TODAY - timedelta(days=3)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "delete from transfers where block_time >= %s and block_time < %s",
            (gone_day, gone_day + timedelta(days=1)),
        )
    await aggregates.backfill(config.settings, 15, now=NOW)
    kept = [t for t in rows if data.day_of(t.block_time) != gone_day]
    await check_daily(pool, kept)
    await check_windows(pool, kept)  # the day's bits are cleared too


async def everything(pool: Pool) -> list[list[dict[str, Any]]]:
    return [
        await fetch(pool, "select * from analytics_hourly order by chain_id, bucket"),
        await fetch(pool, "select * from analytics_daily order by chain_id, day"),
        await fetch(pool, "select * from analytics_address_daily order by chain_id, day, address"),
        await fetch(pool, "select * from analytics_daily_uniques order by chain_id, day"),
        await fetch(pool, "select * from analytics_address_days order by chain_id, address"),
    ]


async def test_the_open_bucket_is_aggregated_in_real_time(
    config: Config, pool: Pool, mode: str
) -> None:
    if mode != "timescale":
        pytest.skip("real-time aggregation is a timescale feature (portable: the job's refresh)")
    rows = data.rows(3, now=NOW, seed=12)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 3, now=NOW)
    # Two more rows in the open hour, after the refresh materialized everything before it.
    when = data.hour_of(NOW) + (NOW - data.hour_of(NOW)) / 2
    late = [
        replace(t, block_time=when, block_number=800_000 + i, tx_hash=f"0x{i + 1:064x}")
        for i, t in enumerate(rows[:2])
    ]
    await load(pool, late)
    # No refresh: the open hour and the open day come from the raw rows at query time.
    per_hour = data.buckets([*rows, *late], lambda t: (t.chain_id, data.hour_of(t.block_time)))
    stored = await fetch(
        pool, "select * from analytics_hourly where bucket = %s", (data.hour_of(NOW),)
    )
    assert {(r["chain_id"], r["bucket"]): r["transfers"] for r in stored} == {
        key: len(b.values) for key, b in per_hour.items() if key[1:] == (data.hour_of(NOW),)
    }
    today = data.buckets([*rows, *late], lambda t: (t.chain_id, data.day_of(t.block_time)))
    stored = await fetch(pool, "select * from analytics_daily_base where day = %s", (TODAY,))
    assert {(r["chain_id"], r["day"]): r["transfers"] for r in stored} == {
        key: len(b.values) for key, b in today.items() if key[1:] == (TODAY,)
    }


async def test_hourly_retention(pool: Pool, database_url: str, mode: str) -> None:
    config = make_config(database_url, TOKENPULSE_ANALYTICS_HOURLY_RETENTION_DAYS="30")
    rows = data.rows(60, now=NOW, seed=14, skip=0)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 60, now=NOW)
    if mode == "timescale":  # the policy drops chunks when it runs; run it now
        job = await fetch(
            pool,
            "select job_id from timescaledb_information.jobs"
            " where proc_name = 'policy_retention' and hypertable_name = 'analytics_hourly'",
        )
        assert (
            await fetch(
                pool,
                "select config ->> 'drop_after' as d from timescaledb_information.jobs"
                " where job_id = %s",
                (job[0]["job_id"],),
            )
        )[0]["d"] == "30 days"
        async with pool.connection() as conn:
            await conn.set_autocommit(True)
            await conn.execute("call run_job(%s)", (job[0]["job_id"],))
    oldest = (await fetch(pool, "select min(bucket) as b from analytics_hourly"))[0]["b"]
    slack = timedelta(days=7) if mode == "timescale" else timedelta(0)  # whole 7-day chunks
    assert oldest >= data.hour_of(NOW) - timedelta(days=30) - slack
    await check_hourly(pool, rows, TODAY - timedelta(days=29))
    await check_daily(pool, rows)  # daily buckets are kept


async def test_empty_and_single_day(config: Config, pool: Pool) -> None:
    await aggregates.backfill(config.settings, 90, now=NOW)  # nothing stored: nothing breaks
    async with pool.connection() as conn:
        for window in (analytics.Window.last_days(7, NOW), analytics.Window()):
            totals = await windows.window_totals(conn, window)
            assert (totals.transfers, totals.volume, totals.active_addresses) == (0, Decimal(0), 0)
            assert totals.largest is None
            assert await windows.daily_series(conn, window) == []
            assert await windows.top_addresses(conn, window) == []
            assert await windows.chain_distribution(conn, window) == []
    rows = data.rows(1, now=NOW, seed=15, per_day=3, chains=(1,))
    await load(pool, rows)
    await aggregates.backfill(config.settings, 1, now=NOW)
    await check_daily(pool, rows)
    await check_windows(pool, rows)


def test_dirty_ranges_merge_into_whole_days() -> None:
    at = datetime(2026, 3, 1, 5, tzinfo=UTC)
    ranges = [
        analytics.DirtyRange(1, 1, at, at + timedelta(hours=2)),
        analytics.DirtyRange(2, 56, at + timedelta(days=1), at + timedelta(days=1)),
        analytics.DirtyRange(3, 1, at + timedelta(days=5), at + timedelta(days=6, hours=20)),
    ]
    day = data.day_of(at)
    assert analytics.merge_days(ranges) == [
        (day, day + timedelta(days=2)),
        (day + timedelta(days=5), day + timedelta(days=8)),
    ]
    assert analytics.merge_days([]) == []


def test_windows() -> None:
    week = analytics.Window.last_days(7, datetime(2026, 3, 10, 15, tzinfo=UTC))
    assert week == analytics.Window(
        datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)
    )
    assert week.previous() == analytics.Window(
        datetime(2026, 2, 25, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    )
    with pytest.raises(ValueError, match="unbounded"):
        analytics.Window().previous()


async def test_the_refresh_has_its_own_statement_timeout(pool: Pool, database_url: str) -> None:
    """After UTC midnight the refresh rebuilds the precomputed windows in one statement, 26 s
    at 10 M transfers: the requests' 15 s statement timeout cancelled it every run
    (bench/analytics.py found it). With the requests' timeout at 1 ms, a backfill and a
    rebuild of every window still complete under TOKENPULSE_ANALYTICS_REFRESH_TIMEOUT_MS."""
    await load(pool, data.rows(20, now=NOW))
    config = make_config(database_url, TOKENPULSE_DB_STATEMENT_TIMEOUT_MS="1")
    async with await aggregates.maintenance_connection(config.settings) as conn:
        cur = await conn.execute("select current_setting('statement_timeout') as t")
        assert await cur.fetchone() == {"t": "15min"}
    assert await aggregates.backfill(config.settings, 20, now=NOW) == 20
    async with await aggregates.maintenance_connection(config.settings) as conn:
        await conn.execute("update analytics_window_state set as_of = null")
        await analytics.catch_up_windows(conn)
        cur = await conn.execute(
            "select count(*) as n from analytics_window_state where as_of is null"
        )
        assert await cur.fetchone() == {"n": 0}
    short = await pool_module.connect(config.settings, autocommit=True)
    async with short:  # the requests' own connections keep their timeout
        with pytest.raises(errors.QueryCanceled):
            await short.execute("select pg_sleep(0.2)")
