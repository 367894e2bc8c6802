"""The PostgreSQL rate budget (app.store.budget) in both schema modes: slots are spaced across
"processes" (separate pools), survive restarts, respect daily quotas and the UTC day, and
only key fingerprints are ever stored."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator

import pytest

from app.config import Config
from app.errors import StoreError
from app.store import budget
from app.store import pool as pool_module
from app.upstreams import fingerprint

RAW_KEY = "RAWSECRETKEY0123456789ABCDEF"
KEY_ID = fingerprint("etherscan", RAW_KEY)
INTERVAL = 30.0  # long enough that test timing noise cannot blur the spacing
SLACK = 2.0  # seconds of wall time the test itself may take between two reservations


async def reserve(pool: pool_module.Pool, quota: int | None = None) -> budget.Reservation:
    async with pool.connection() as conn:  # commits on exit, like a real short transaction
        return await budget.reserve(conn, KEY_ID, "etherscan", "etherscan#1", INTERVAL, quota)


@pytest.fixture
async def second_pool(config: Config) -> AsyncIterator[pool_module.Pool]:
    """Another "process": its own pool and connections to the same database."""
    other = pool_module.create(config.settings, name="second-process")
    await other.open(wait=True, timeout=10)
    try:
        yield other
    finally:
        await other.close()


async def test_first_reservation_needs_no_wait(pool: pool_module.Pool) -> None:
    first = await reserve(pool)
    assert first == budget.Reservation(0.0, quota_exhausted=False)


async def test_two_processes_get_slots_an_interval_apart(
    pool: pool_module.Pool, second_pool: pool_module.Pool
) -> None:
    waits = [(await reserve(p)).wait_seconds for p in (pool, second_pool, pool, second_pool)]
    for number, wait in enumerate(waits):
        assert number * INTERVAL - SLACK <= wait <= number * INTERVAL


async def test_concurrent_reservations_never_share_a_slot(
    pool: pool_module.Pool, second_pool: pool_module.Pool
) -> None:
    results = await asyncio.gather(*(reserve(p) for p in (pool, second_pool) * 5))
    waits = sorted(r.wait_seconds for r in results)
    assert waits[0] == 0.0
    for earlier, later in itertools.pairwise(waits):
        assert later - earlier >= INTERVAL - SLACK


async def test_the_budget_survives_a_restart(config: Config, pool: pool_module.Pool) -> None:
    await reserve(pool)
    await pool.close()
    restarted = pool_module.create(config.settings, name="after-restart")
    await restarted.open(wait=True, timeout=10)
    try:
        again = await reserve(restarted)
    finally:
        await restarted.close()
    assert INTERVAL - SLACK <= again.wait_seconds <= INTERVAL


async def test_daily_quota_refuses_without_taking_a_slot(pool: pool_module.Pool) -> None:
    assert not (await reserve(pool, quota=2)).quota_exhausted
    assert not (await reserve(pool, quota=2)).quota_exhausted
    refused = await reserve(pool, quota=2)
    assert refused.quota_exhausted
    assert 0 < refused.wait_seconds <= 86_400  # until the next UTC midnight
    [row] = await list_budgets(pool)
    assert (row.calls_today, row.quota_exhausted) == (2, True)
    # The refusal did not push the next slot: a raised quota continues right after call 2.
    granted = await reserve(pool, quota=3)
    assert not granted.quota_exhausted
    assert 2 * INTERVAL - SLACK <= granted.wait_seconds <= 2 * INTERVAL


async def test_a_new_utc_day_resets_the_count(pool: pool_module.Pool) -> None:
    await reserve(pool, quota=1)
    assert (await reserve(pool, quota=1)).quota_exhausted
    async with pool.connection() as conn:  # pretend the calls were made yesterday
        await conn.execute("update rate_budget set day = day - 1")
    assert not (await reserve(pool, quota=1)).quota_exhausted
    [row] = await list_budgets(pool)
    assert (row.calls_today, row.quota_exhausted) == (1, False)


async def test_rate_limit_back_off_delays_the_next_slot(pool: pool_module.Pool) -> None:
    await reserve(pool)
    async with pool.connection() as conn:
        await budget.record_rate_limited(conn, KEY_ID, 300)
    wait = (await reserve(pool)).wait_seconds
    assert 300 - SLACK <= wait <= 300
    [row] = await list_budgets(pool)
    assert row.rate_limit_hits == 1
    assert 300 - 2 * SLACK <= row.backoff_seconds <= 300


async def test_calls_are_counted_per_hour_endpoint_and_outcome(pool: pool_module.Pool) -> None:
    async with pool.connection() as conn:
        for latency in (10.0, 30.0):
            await budget.record_call(conn, KEY_ID, "etherscan", "logs/getLogs", "ok", latency)
        await budget.record_call(conn, KEY_ID, "etherscan", "logs/getLogs", "rate_limited", 5)
        stats = await budget.list_calls(conn, hours=1)
    by_outcome = {s.outcome: s for s in stats}
    assert by_outcome["ok"].calls == 2
    assert by_outcome["ok"].total_latency_ms == 40.0
    assert by_outcome["ok"].max_latency_ms == 30.0
    assert by_outcome["rate_limited"].calls == 1


async def test_only_fingerprints_are_stored(pool: pool_module.Pool) -> None:
    await reserve(pool, quota=5)
    async with pool.connection() as conn:
        await budget.record_rate_limited(conn, KEY_ID, 1)
        await budget.record_call(conn, KEY_ID, "etherscan", "logs/getLogs", "ok", 1.0)
        cur = await conn.execute(
            "select (select json_agg(b) from rate_budget b)::text as budgets,"
            " (select json_agg(c) from upstream_calls c)::text as calls"
        )
        row = await cur.fetchone()
    assert row is not None
    dump = row["budgets"] + row["calls"]
    assert RAW_KEY not in dump
    assert RAW_KEY.lower() not in dump.lower()
    assert json.loads(row["budgets"])[0]["key_id"] == KEY_ID


async def test_a_raw_key_is_refused_as_key_id(pool: pool_module.Pool) -> None:
    async with pool.connection() as conn:
        with pytest.raises(StoreError, match="23514"):  # check_violation
            await budget.reserve(conn, RAW_KEY, "etherscan", "etherscan#1", 1.0, None)


async def list_budgets(pool: pool_module.Pool) -> list[budget.Budget]:
    async with pool.connection() as conn:
        return await budget.list_budgets(conn)
