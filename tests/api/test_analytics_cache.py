"""The analytics refresh invalidates the API's cached analytics answers: it announces a change
of the aggregates (a ``section`` event on the batch channel) in its own transaction, only when
something changed; the API's listener drops the analytics sections, nothing else; a cached
``/api/analytics`` answer is not served beyond the refresh that changes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.ops.cache import CacheRegistry
from app.ops.listener import TransferListener
from app.store import analytics, notify
from app.store import pool as pool_module
from tests.api import analytics_data as data
from tests.api import transfer_data

ROWS = data.dataset()
FEW = data.dataset(days=12)  # where only the refresh is timed: fewer days to refresh


def test_section_events_round_trip_and_batches_still_parse() -> None:
    event = notify.SectionEvent("analytics", (1, 137))
    assert event.payload() == '{"section":"analytics","chains":[1,137]}'
    assert notify.parse(event.payload()) == event
    batch = notify.BatchEvent(56, 10, 20, 0)
    assert notify.parse(batch.payload()) == batch
    for junk in [
        "",
        "nope",
        "[]",
        '{"section": 1, "chains": []}',
        '{"section": "a", "chains": ["1"]}',
        '{"section": "a", "chains": [1], "more": 1}',
    ]:
        assert notify.parse(junk) is None


async def _refresh(config: Config, days: int = 2 * data.SPAN_DAYS) -> bool:
    """The last ``days`` days and today, as the job would; True if anything changed."""
    conn = await pool_module.connect(config.settings, autocommit=True)
    async with conn:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=days)
        return await analytics.refresh(conn, start, today + analytics.DAY)


async def _next(conn: pool_module.Connection, within: float) -> notify.Event | None:
    async def first() -> notify.Event | None:
        async for event in notify.events(conn, keepalive=within):
            return event
        return None

    try:
        return await asyncio.wait_for(first(), within)
    except TimeoutError:
        return None


async def test_a_refresh_announces_a_change_and_only_a_change(
    config: Config, pool: pool_module.Pool
) -> None:
    async with pool.connection() as conn:
        await transfer_data.store(conn, config, FEW)
    listener = await pool_module.connect(config.settings, autocommit=True)
    async with listener:
        await notify.listen(listener)
        assert await _refresh(config, 14)
        chains = tuple(sorted({r.chain_id for r in FEW}))
        assert await _next(listener, 5) == notify.SectionEvent("analytics", chains)
        assert not await _refresh(config, 14)  # nothing changed: nothing announced
        assert await _next(listener, 0.5) is None
        async with pool.connection() as conn, conn.transaction():
            gone = next(r for r in reversed(FEW) if r.chain_id == 137)
            cur = await conn.execute(
                "delete from transfers where chain_id = 137 and block_number = %s",
                (gone.block_number,),
            )
            assert cur.rowcount >= 1
        assert await _refresh(config, 14)
        assert await _next(listener, 5) == notify.SectionEvent("analytics", (137,))


async def _until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_the_listener_drops_the_analytics_sections_only(
    config: Config, pool: pool_module.Pool
) -> None:
    cache = CacheRegistry()
    hooks: list[int | None] = []

    async def hook(chain_id: int | None) -> None:
        hooks.append(chain_id)

    cache.on_invalidate(hook)
    for name in ("analytics", "rest_analytics", "transfers"):
        cache.section(name, 300).put("all", "answer", frozenset())
        cache.section(name, 300).put(137, "answer", frozenset({137}))
        cache.section(name, 300).put(1, "answer", frozenset({1}))
    ears = TransferListener(config.settings, cache, retry=(0.05, 0.2), keepalive=1)
    await ears.start()
    try:
        await _until(lambda: ears.connected)
        async with pool.connection() as conn, conn.transaction():
            await notify.notify_section(conn, "analytics", [137])
        # Chain 137's answers and the all-chains ones go, in both analytics sections.
        await _until(lambda: set(cache.sections["analytics"].entries) == {1})
        assert set(cache.sections["rest_analytics"].entries) == {1}
        assert set(cache.sections["transfers"].entries) == {"all", 137, 1}
        assert hooks == []  # no chain changed: the refresh hooks (warming) do not run
    finally:
        await ears.stop()


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_cached_answer_is_not_served_beyond_the_refresh(config: Config) -> None:
    data.load(config, ROWS)
    with TestClient(create_app(config)) as api:
        wait_for(
            lambda: api.get("/api/cache-health").json()["notifications"]["connected"],
            "the notification listener",
        )
        params = {"timeRange": "7d", "chainId": "137"}
        first = api.get("/api/analytics", params=params).json()
        other = api.get("/api/analytics", params={"timeRange": "7d", "chainId": "1"}).json()
        graphql = {"query": "{ analytics(range: D7, chainId: 137) { metrics { totalTransfers } } }"}
        # A transfer stored without a batch notification (as if that event were missed): the
        # cached answers stay until the refresh that puts it in the aggregates announces it.
        top = max(r.block_number for r in ROWS if r.chain_id == 137)
        new = transfer_data.transfer(137, top + 1, 0, value=7 * 10**18, seconds=0)
        new = replace(new, block_time=datetime.now(UTC) - timedelta(seconds=1),
                      value=Decimal(new.value))  # fmt: skip
        asyncio.run(_store(config, new))
        assert api.get("/api/analytics", params=params).json() == first  # cached
        before = api.post("/graphql", json=graphql).json()
        asyncio.run(_refresh(config))
        count = first["analyticsMetrics"]["totalTransfers"]

        def refreshed() -> bool:
            body = api.get("/api/analytics", params=params).json()
            return bool(body["analyticsMetrics"]["totalTransfers"] == count + 1)

        wait_for(refreshed, "the refreshed answer")
        after = api.post("/graphql", json=graphql).json()
        assert after != before
        # Chain 1's aggregates did not change: its cached answer stays.
        assert api.get("/api/analytics", params={"timeRange": "7d", "chainId": "1"}).json() == other


async def _store(config: Config, row: object) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn, conn.transaction():
        from app.store import transfers as store_transfers

        await store_transfers.copy_transfers(conn, [row], "etherscan")  # type: ignore[list-item]
