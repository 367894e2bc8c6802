"""LISTEN/NOTIFY: a batch notification goes out only when its transaction commits; the API's
listener hears it, queues it, the refresher invalidates the cache; the queue depth is
observable; the listener comes back after losing its session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from app.config import Config
from app.ops.cache import CacheRegistry
from app.ops.listener import ListenerCollector, TransferListener
from app.ops.metrics import Metrics
from app.store import notify
from app.store import pool as pool_module


@pytest.fixture
def mode() -> str:
    return "portable"  # nothing here depends on the schema mode


async def _listening(config: Config) -> pool_module.Connection:
    conn = await pool_module.connect(config.settings, autocommit=True)
    await notify.listen(conn)
    return conn


async def _next_event(conn: pool_module.Connection, within: float) -> notify.BatchEvent | None:
    async def first() -> notify.BatchEvent | None:
        async for event in notify.events(conn, keepalive=within):
            return event
        return None

    try:
        return await asyncio.wait_for(first(), within)
    except TimeoutError:
        return None


async def test_delivered_on_commit_only(pool: pool_module.Pool, config: Config) -> None:
    listener = await _listening(config)
    async with listener:
        async with pool.connection() as conn, conn.transaction():
            await notify.notify_batch(conn, 137, 100, 199, 5)
            assert await _next_event(listener, 0.3) is None  # not before the commit
        assert await _next_event(listener, 5) == notify.BatchEvent(137, 100, 199, 5)

        with pytest.raises(RuntimeError):
            await _fail_after_notify(pool)
        assert await _next_event(listener, 0.5) is None  # rolled back: never sent


async def _fail_after_notify(pool: pool_module.Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        await notify.notify_batch(conn, 1, 1, 2, 3)
        raise RuntimeError("the batch failed after its notification")


def test_payloads_round_trip_and_junk_is_ignored() -> None:
    event = notify.BatchEvent(56, 10, 20, 0)
    assert notify.BatchEvent.parse(event.payload()) == event
    assert event.payload() == '{"chain_id":56,"from_block":10,"to_block":20,"inserted":0}'
    for junk in ["", "nope", "[]", '{"chain_id": 1}', '{"chain_id":"1","from_block":1,'
                 '"to_block":2,"inserted":0}']:  # fmt: skip
        assert notify.BatchEvent.parse(junk) is None


@pytest.fixture
async def api_listener(config: Config) -> AsyncIterator[TransferListener]:
    listener = TransferListener(config.settings, CacheRegistry(), retry=(0.05, 0.2), keepalive=1)
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


async def _until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.02)


async def _announce(pool: pool_module.Pool, *chain_ids: int) -> None:
    async with pool.connection() as conn, conn.transaction():
        for chain_id in chain_ids:
            await notify.notify_batch(conn, chain_id, 1, 10, 1)


async def test_listener_invalidates_the_cache(
    pool: pool_module.Pool, api_listener: TransferListener
) -> None:
    cache = api_listener.cache
    section = cache.section("transfers", ttl=300)
    section.put(("page", 137), "polygon page", frozenset({137}))
    section.put(("page", 1), "ethereum page", frozenset({1}))
    section.put("all", "every chain", frozenset())
    refreshed: list[int | None] = []

    async def hook(chain_id: int | None) -> None:
        refreshed.append(chain_id)

    cache.on_invalidate(hook)
    await _until(lambda: api_listener.connected)
    await _announce(pool, 137)
    await _until(lambda: refreshed == [137])
    assert set(section.entries) == {("page", 1)}  # Polygon's and the all-chains entry went
    assert api_listener.received == 1
    assert api_listener.stats()["lastEventAt"] is not None


async def test_queue_depth_is_observable(
    pool: pool_module.Pool, api_listener: TransferListener
) -> None:
    gate = asyncio.Event()

    async def slow_hook(chain_id: int | None) -> None:
        await gate.wait()

    api_listener.cache.on_invalidate(slow_hook)
    metrics = Metrics(version="t", pool_stats=dict)
    metrics.registry.register(ListenerCollector(api_listener))
    await _until(lambda: api_listener.connected)
    await _announce(pool, 1)
    await _until(lambda: api_listener.received == 1)  # the refresher now waits on the gate
    await _announce(pool, 10, 56, 137)
    await _until(lambda: api_listener.depth == 3)
    assert api_listener.stats()["queueDepth"] == 3
    text = metrics.render()[0].decode()
    assert "tokenpulse_notify_queue_depth 3.0" in text
    assert "tokenpulse_notify_events_total 4.0" in text
    gate.set()
    await _until(lambda: api_listener.depth == 0)
    assert api_listener.refreshes == 4  # the three queued were coalesced into one pass


async def test_full_queue_drops_but_refreshes_everything(config: Config) -> None:
    cache = CacheRegistry()
    cache.section("s", ttl=60).put("k", 1, frozenset({5}))
    listener = TransferListener(config.settings, cache, queue_size=1)
    listener.enqueue(notify.BatchEvent(1, 1, 1, 1))
    listener.enqueue(notify.BatchEvent(2, 1, 1, 1))
    assert listener.dropped == 1
    await listener._refresh([listener.queue.get_nowait()])
    assert cache.sections["s"].entries == {}  # chain 5 was never announced, still dropped


async def test_listener_reconnects_after_losing_its_session(
    pool: pool_module.Pool, api_listener: TransferListener, database_url: str
) -> None:
    refreshed: list[int | None] = []

    async def hook(chain_id: int | None) -> None:
        refreshed.append(chain_id)

    api_listener.cache.on_invalidate(hook)
    await _until(lambda: api_listener.connected)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where query ilike 'listen %' and pid <> pg_backend_pid()"
        )
    await _until(lambda: api_listener.reconnects == 1 and api_listener.connected, within=10)
    await _until(lambda: None in refreshed)  # what was missed meanwhile: refresh everything
    await _announce(pool, 8453)
    await _until(lambda: 8453 in refreshed)
