"""The precomputed top-address windows (migration 0012) against the raw transfers, in both
schema modes: every row of every window after a backfill, after rows are added and deleted
in and out of the windows, after the day moves on; which windows are served from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.config import Config
from app.domain import Transfer
from app.ingest import aggregates
from app.store import analytics
from app.store import analytics_reads as reads
from app.store import analytics_window as windows
from app.store import pool as pool_module
from app.store.queries import SQL_DIR
from tests.store import analytics_data as data
from tests.store.test_analytics import NOW, TODAY, fetch, load

Pool = pool_module.Pool
SPANS = (0, 7, 30, 90, -7, -30, -90)
Row = tuple[int, str, int, int, Decimal, Decimal]  # chain (0: all), address, sums
CHANGED = (120, 40, 10, 5, 0)  # days ago: in -90, -30, -7, 7 (and 30, 90) and today


@pytest.fixture(autouse=True)
def today_at_start() -> None:
    """NOW and TODAY when the test starts, not when the module was imported: a suite that
    crosses UTC midnight in between would put the test's rows on the day before the
    database's now()."""
    global NOW, TODAY
    NOW = datetime.now(UTC)
    TODAY = data.day_of(NOW)


def bounds(span: int) -> tuple[datetime | None, datetime]:
    """The days of a window: the last n, the n before those (-n), or every day (0)."""
    end = TODAY + analytics.DAY
    if span == 0:
        return None, end
    if span > 0:
        return end - span * analytics.DAY, end
    return end + 2 * span * analytics.DAY, end + span * analytics.DAY


def inside(rows: Sequence[Transfer], span: int) -> list[Transfer]:
    start, end = bounds(span)
    return [t for t in rows if (start is None or t.block_time >= start) and t.block_time < end]


def expected(rows: Sequence[Transfer], span: int) -> set[Row]:
    """Every (chain, address) row a window should hold, from the raw transfers."""
    found: set[Row] = set()
    for chain_id in (None, *data.CHAINS):
        for address, *sums in data.top_addresses(inside(rows, span), chain_id):
            found.add((chain_id or 0, address, *sums))  # type: ignore[arg-type]
    return found


def expected_counts(rows: Sequence[Transfer], span: int) -> set[tuple[object, ...]]:
    """Per chain (0: every chain) with transfers in the window: distinct senders, receivers
    and active addresses, transfers and volume (migration 0017)."""
    found: set[tuple[object, ...]] = set()
    for chain_id in (None, *data.CHAINS):
        mine = [t for t in inside(rows, span) if chain_id is None or t.chain_id == chain_id]
        senders, receivers = {t.from_address for t in mine}, {t.to_address for t in mine}
        if mine:
            volume = Decimal(sum(int(t.value) for t in mine))  # exact (no 28-digit context)
            counts = (len(senders), len(receivers), len(senders | receivers))
            found.add((chain_id or 0, *counts, len(mine), volume))
    return found


async def stored(pool: Pool, span: int) -> set[Row]:
    got = await fetch(
        pool,
        "select chain_id, address, sent, received, sent_volume, received_volume"
        " from analytics_address_windows where span_days = %s",
        (span,),
    )
    return {
        (
            r["chain_id"],
            "0x" + bytes(r["address"]).hex(),
            r["sent"],
            r["received"],
            r["sent_volume"],
            r["received_volume"],
        )
        for r in got
    }


async def check(pool: Pool, rows: Sequence[Transfer]) -> None:
    for span in SPANS:
        assert await stored(pool, span) == expected(rows, span), f"span {span}"
        counts = await fetch(
            pool,
            "select chain_id, senders, receivers, active_addresses, transfers, volume"
            " from analytics_window_counts where span_days = %s",
            (span,),
        )
        assert {tuple(r.values()) for r in counts} == expected_counts(rows, span), span
    state = await fetch(pool, "select span_days, as_of from analytics_window_state")
    assert {r["span_days"]: r["as_of"] for r in state} == dict.fromkeys(SPANS, TODAY.date())


async def test_windows_equal_the_raw_transfers_through_changes(config: Config, pool: Pool) -> None:
    rows = data.rows(200, now=NOW, per_day=4, seed=5)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 200, now=NOW)
    await check(pool, rows)
    # New rows on old days (a backfill inside and outside each window) and today.
    extra = [
        t
        for t in data.rows(200, now=NOW, per_day=2, seed=6, skip=0.5)
        if data.day_of(t.block_time) in {TODAY - n * analytics.DAY for n in CHANGED}
    ]
    assert extra
    extra = [_moved(t, 500_000) for t in extra]
    await load(pool, extra)
    # A repair deletes a day inside every window.
    gone = TODAY - timedelta(days=3)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "delete from transfers where block_time >= %s and block_time < %s",
            (gone, gone + analytics.DAY),
        )
    kept = [t for t in [*rows, *extra] if data.day_of(t.block_time) != gone]
    for day in (gone, *(TODAY - n * analytics.DAY for n in CHANGED)):
        await _refresh(config, day)
    await check(pool, kept)


async def test_a_moved_day_rebuilds_and_stale_windows_are_not_read(
    config: Config, pool: Pool
) -> None:
    rows = data.rows(40, now=NOW, per_day=3, seed=8)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 40, now=NOW)
    # The bounded windows as of yesterday: a reader of today's must not use them. (Window 0,
    # every day, does not move with the day: it stays in use.)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "update analytics_window_state set as_of = as_of - 1 where span_days <> 0"
        )
        await conn.execute("delete from analytics_address_windows where span_days <> 0")
    async with pool.connection() as conn:
        week = analytics.Window.last_days(7, NOW)
        assert await windows.find_window_span(conn, week) is None
        assert await windows.find_window_span(conn, analytics.Window(None, week.end)) == 0
        top = await windows.top_addresses(conn, week, None, limit=5)
        inside = [t for t in rows if t.block_time >= week.start]  # type: ignore[operator]
        assert [(a.address, a.sent, a.received) for a in top] == [
            r[:3] for r in data.top_addresses(inside)[:5]
        ]
        totals = await windows.window_totals(conn, week, None)
        assert totals.active_addresses == len(
            {t.from_address for t in inside} | {t.to_address for t in inside}
        )
    # The next refresh (of any day) sees the day moved and rebuilds every bounded window.
    await _refresh(config, TODAY - 20 * analytics.DAY)
    await check(pool, rows)


async def test_a_deferred_backfill_sets_windows_aside_until_caught_up(
    config: Config, pool: Pool
) -> None:
    rows = data.rows(40, now=NOW, per_day=3, seed=12)
    await load(pool, rows[: len(rows) // 2])
    await aggregates.backfill(config.settings, 40, now=NOW)
    await load(pool, rows[len(rows) // 2 :])
    conn = await pool_module.connect(config.settings, autocommit=True)
    async with conn:
        for back in (35, 3):  # outside, then inside the 7-day window
            day = TODAY - back * analytics.DAY
            await analytics.refresh(conn, day, day + analytics.DAY, defer_windows=True)
        state = await fetch(pool, "select span_days, as_of from analytics_window_state")
        aside = {r["span_days"] for r in state if r["as_of"] is None}
        assert aside == {0, 7, 30, 90, -30}  # the windows holding day -35 or day -3
        week = analytics.Window.last_days(7, NOW)
        assert await windows.find_window_span(conn, week) is None
        await analytics.catch_up_windows(conn)
        assert await windows.find_window_span(conn, week) == 7
    await aggregates.backfill(config.settings, 40, now=NOW)  # every other day, then caught up
    await check(pool, rows)


async def test_exact_windows_only_are_served_from_the_precomputed_rows(
    config: Config, pool: Pool
) -> None:
    rows = data.rows(10, now=NOW, per_day=3, seed=4)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 10, now=NOW)
    end = TODAY + analytics.DAY
    async with pool.connection() as conn:
        for days in (7, 30, 90):
            window = analytics.Window.last_days(days, NOW)
            assert await windows.find_window_span(conn, window) == days
            assert await windows.find_window_span(conn, window.previous()) == -days
        assert await windows.find_window_span(conn, analytics.Window(None, end)) == 0
        for other in (
            analytics.Window.last_days(1, NOW),
            analytics.Window.last_days(14, NOW),
            analytics.Window(
                end - 7 * analytics.DAY, end - analytics.DAY
            ),  # the week before yesterday
            analytics.Window(None, end - analytics.DAY),
            analytics.Window(),
        ):
            assert await windows.find_window_span(conn, other) is None
        # Served from the windows, the top addresses are the raw transfers' (all chains and one).
        week = analytics.Window.last_days(7, NOW)
        inside = [t for t in rows if t.block_time >= week.start]  # type: ignore[operator]
        for chain_id in (None, 137):
            top = await windows.top_addresses(conn, week, chain_id, limit=4)
            assert [
                (a.address, a.sent, a.received, a.sent_volume, a.received_volume) for a in top
            ] == data.top_addresses(inside, chain_id)[:4]


async def _refresh(config: Config, day: datetime) -> None:
    conn = await pool_module.connect(config.settings, autocommit=True)
    async with conn:
        await analytics.refresh(conn, day, day + analytics.DAY)


def _moved(t: Transfer, blocks: int) -> Transfer:
    """The transfer on other blocks, so it cannot collide with the first rows' keys."""
    block = t.block_number + blocks
    return replace(t, block_number=block, block_hash="0x" + f"{t.chain_id:08x}{block:056x}")


async def test_the_largest_transfers_from_kept_days_and_raw_rows(
    config: Config, pool: Pool
) -> None:
    rows = data.rows(30, now=NOW, per_day=20, seed=13)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 30, now=NOW)
    names = dict.fromkeys(data.CHAINS, "chain")
    end = TODAY + analytics.DAY

    async def check_largest() -> None:
        for start in (None, TODAY - 6 * analytics.DAY, TODAY - 29 * analytics.DAY):
            for chains in (list(data.CHAINS), [137]):
                chosen = [
                    t
                    for t in rows
                    if t.chain_id in chains and (start is None or t.block_time >= start)
                ]
                chosen.sort(key=lambda t: (-t.value, -t.block_time.timestamp(), t.chain_id,
                                           t.tx_hash, t.log_index))  # fmt: skip
                async with pool.connection() as conn:
                    got = await reads.list_largest(conn, chains, (start, end), names)
                assert [(t.tx_hash, t.value) for t in got] == [
                    (t.tx_hash, int(t.value)) for t in chosen[:15]
                ]

    kept = await fetch(pool, "select count(*) as n from analytics_daily_largest")
    assert 0 < kept[0]["n"] <= 15 * 30 * len(data.CHAINS)
    await check_largest()
    # Days the refresh has not reached (no per-day row) are read from the transfers: their
    # kept rows, here emptied, are not used.
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "delete from analytics_daily_uniques where day > %s", (TODAY - 5 * analytics.DAY,)
        )
        await conn.execute(
            "delete from analytics_daily_largest where day > %s", (TODAY - 5 * analytics.DAY,)
        )
    await check_largest()


async def test_windows_set_aside_by_migration_0017_get_their_sums_at_the_next_catch_up(
    config: Config, pool: Pool
) -> None:
    """Migration 0017 adds the windows' transfers and volume with 0 in existing rows and sets
    every window aside; until the next catch-up no reader uses them, then they are exact."""
    rows = data.rows(100, now=NOW, per_day=3, seed=14)
    await load(pool, rows)
    await aggregates.backfill(config.settings, 100, now=NOW)
    set_aside = (SQL_DIR / "migrations" / "0017_window_sums.sql").read_text().split(";")[-2]
    assert set_aside.strip().endswith("update analytics_window_state set as_of = null")
    conn = await pool_module.connect(config.settings, autocommit=True)
    async with conn:
        await conn.execute("update analytics_window_counts set transfers = 0, volume = 0")
        await conn.execute(set_aside)
        for days in (7, 30, 90):
            window = analytics.Window.last_days(days, NOW)
            assert await windows.find_window_span(conn, window) is None
            assert await windows.find_window_span(conn, window.previous()) is None
        await analytics.catch_up_windows(conn)
    await check(pool, rows)
