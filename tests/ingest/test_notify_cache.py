"""The response cache the notification refresher keeps in step: TTL, single flight, per-chain
invalidation, refresh hooks, and GET /api/cache-health."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.ops.cache import CacheRegistry
from tests.api.conftest import offline_config


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    clock = FakeClock()
    section = CacheRegistry(clock).section("stats", ttl=60)
    assert section.stats()["status"] == "empty"
    section.put("k", 1)
    clock.now += 59
    assert section.get("k") == 1
    assert section.stats() | {"hits": 0} == {
        "status": "fresh",
        "entries": 1,
        "ttlMs": 60_000,
        "ageMs": 59_000,
        "expiresInMs": 1_000,
        "hits": 0,
        "misses": 0,
        "invalidations": 0,
    }
    clock.now += 1
    assert section.get("k") is None
    assert section.stats()["status"] == "stale"
    assert (section.hits, section.misses) == (1, 1)


async def test_concurrent_misses_load_once() -> None:
    section = CacheRegistry().section("transfers", ttl=60)
    loads = 0
    release = asyncio.Event()

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "page"

    waiting = [asyncio.create_task(section.get_or_load("p1", load)) for _ in range(5)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*waiting) == ["page"] * 5
    assert loads == 1
    assert await section.get_or_load("p1", load) == "page"
    assert loads == 1


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    section = CacheRegistry().section("s", ttl=60)

    async def broken() -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("store down")

    results = await asyncio.gather(
        section.get_or_load("k", broken), section.get_or_load("k", broken), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert section.entries == {}


async def test_invalidate_drops_the_chain_and_all_chain_entries_then_runs_hooks() -> None:
    registry = CacheRegistry()
    pages = registry.section("pages", ttl=60)
    pages.put("eth", 1, frozenset({1}))
    pages.put("pol", 2, frozenset({137}))
    pages.put("eth+pol", 3, frozenset({1, 137}))
    registry.section("totals", ttl=60).put("global", 4)
    seen: list[int | None] = []

    async def failing(chain_id: int | None) -> None:
        raise RuntimeError("a broken hook")

    async def recording(chain_id: int | None) -> None:
        seen.append(chain_id)

    registry.on_invalidate(failing)
    registry.on_invalidate(recording)
    assert await registry.invalidate(137) == 3
    assert set(pages.entries) == {"eth"}
    assert registry.sections["totals"].entries == {}
    assert seen == [137]  # the failing hook did not stop the next one
    assert await registry.invalidate(None) == 1


def test_cache_health_endpoint() -> None:
    with TestClient(create_app(offline_config())) as client:
        client.app.state.tokenpulse.cache.section("stats", ttl=120).put("k", 1)  # type: ignore[attr-defined]
        body = client.get("/api/cache-health").json()
    assert body["caches"]["stats"]["status"] == "fresh"
    assert body["caches"]["stats"]["ttlMs"] == 120_000
    notes = body["notifications"]
    assert notes["connected"] is False  # the offline database refuses the listener
    assert body["queuedJobs"] == notes["queueDepth"] == 0
    assert set(notes) >= {"received", "dropped", "reconnects", "lastEventAt", "queueMax"}


@pytest.mark.parametrize("ttl", [0.0])
def test_zero_ttl_never_serves(ttl: float) -> None:
    section = CacheRegistry().section("s", ttl=ttl)
    section.put("k", 1)
    assert section.get("k") is None
