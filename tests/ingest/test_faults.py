"""Upstream faults never corrupt the store: after retries it equals the ground truth.

Each test injects simulator faults (malformed JSON, wrong field types, truncated pages, a
429/rate-limit storm, an outage, range refusals), then runs sync_tip and backfill until a
run completes, and compares the store with the truth: nothing missing, nothing extra,
no duplicates. Rejected items are counted and never stored.

Only the portable schema: the write path is the same in both modes (test_truth runs both).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.config import Config
from app.ingest.runtime import Ingestor, SyncReport
from app.simulator import Options, Simulator
from app.store import ingest_status
from app.store.pool import Pool
from app.upstreams import Priority
from app.upstreams.errors import UpstreamError
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth

POLYGON, CRONOS = 137, 25
DENSITY = {POLYGON: 20.0, CRONOS: 20.0}  # transfers a day: full pages on wide windows


@pytest.fixture
def mode() -> str:
    return "portable"


async def until_complete(
    attempt: Callable[[], Awaitable[SyncReport]], tries: int = 30
) -> tuple[list[SyncReport], list[UpstreamError]]:
    """Run ``attempt`` until a report is complete (the scheduler would run it again)."""
    reports: list[SyncReport] = []
    errors: list[UpstreamError] = []
    for _ in range(tries):
        try:
            report = await attempt()
        except UpstreamError as exc:
            errors.append(exc)
            await asyncio.sleep(0.2)
            continue
        reports.append(report)
        if report.complete:
            return reports, errors
        await asyncio.sleep(0.05)
    raise AssertionError(f"never completed: {errors[-3:]} {[r.errors for r in reports[-3:]]}")


async def ingest(ingestor: Ingestor, config: Config, chain_id: int) -> list[SyncReport]:
    """sync_tip then backfill from first_block, each until complete."""
    chain = next(c for c in config.chains if c.id == chain_id)
    tips, _ = await until_complete(lambda: ingestor.sync_tip(chain_id))
    fills, _ = await until_complete(lambda: ingestor.backfill(chain_id, chain.first_block))
    return tips + fills


async def assert_truth(pool: Pool, sim: Simulator, chain_id: int, first_block: int) -> None:
    rows = await stored(pool, chain_id)
    assert len(rows) == len(set(rows)), "duplicates stored"
    assert set(rows) == truth(sim, chain_id)
    assert len(await covered(pool, chain_id)) == 1
    assert (await covered(pool, chain_id))[0][0] == first_block


def outcomes(sim: Simulator, service: str) -> set[str]:
    return {call.outcome for call in sim.calls.calls(service)}


FAULTS: list[Any] = [
    pytest.param("malformed_json", {"count": 4}, id="malformed-json"),
    pytest.param("wrong_types", {"count": 4}, id="wrong-types"),
    pytest.param("truncated_page", {"count": 8, "keep": 0.5}, id="truncated-page"),
    pytest.param("truncated_page", {"probability": 0.5, "duration": 1.5}, id="truncated-often"),
    pytest.param("rate_limit_storm", {"duration": 1.0}, id="rate-limit-storm"),
    pytest.param("outage", {"duration": 1.5}, id="outage"),
    pytest.param("query_timeout", {"count": 3}, id="query-timeout"),
]


@pytest.mark.parametrize(("kind", "spec"), FAULTS)
@pytest.mark.parametrize(("chain_id", "service"), [(POLYGON, "etherscan"), (CRONOS, "cronos")])
async def test_faults_leave_the_store_equal_to_the_truth(
    database_url: str, pool: Pool, chain_id: int, service: str, kind: str, spec: dict[str, Any]
) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url)
    sim.faults.add(kind, service=service, endpoint="logs/getLogs", **spec)
    async with opened(config, pool, sim) as ingestor:
        reports = await ingest(ingestor, config, chain_id)
    assert any(outcome.startswith("fault:") for outcome in outcomes(sim, service))
    chain = next(c for c in config.chains if c.id == chain_id)
    await assert_truth(pool, sim, chain_id, chain.first_block)
    if kind == "wrong_types":
        assert sum(r.rejected for r in reports) > 0
        assert sum(r.rejected_by_reason["bad_quantity"] for r in reports) > 0


async def test_every_fault_at_once(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url)
    for kind in ("malformed_json", "wrong_types", "truncated_page", "rate_limit_storm"):
        sim.faults.add(kind, service="*", probability=0.15, duration=2.0)
    sim.faults.add("outage", service="etherscan", duration=0.5)
    async with opened(config, pool, sim) as ingestor:
        for chain_id in (POLYGON, CRONOS):
            await ingest(ingestor, config, chain_id)
    for chain_id in (POLYGON, CRONOS):
        chain = next(c for c in config.chains if c.id == chain_id)
        await assert_truth(pool, sim, chain_id, chain.first_block)


async def test_a_failed_cycle_is_recorded_then_cleared(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_RETRY_MAX_ATTEMPTS="2")
    sim.faults.add("outage", service="etherscan", count=4)
    async with opened(config, pool, sim) as ingestor:
        with pytest.raises(UpstreamError):
            await ingestor.sync_tip(POLYGON)
        async with pool.connection() as conn:
            failed = await ingest_status.find(conn, POLYGON)
        assert failed is not None
        assert failed.consecutive_failures == 1
        assert failed.last_error is not None
        assert "503" in failed.last_error
        assert failed.backoff_until is not None
        await until_complete(lambda: ingestor.sync_tip(POLYGON))
    async with pool.connection() as conn:
        healed = await ingest_status.find(conn, POLYGON)
    assert healed is not None
    assert (healed.consecutive_failures, healed.backoff_until) == (0, None)
    assert healed.last_error_at is not None  # the last error stays visible


async def test_rpc_range_refusals_on_cronos_shrink_the_window(
    database_url: str, pool: Pool
) -> None:
    """Cronos logs from its Ethermint node: 2,000-block distance cap, logs without
    blockTimestamp (headers fetched in batches)."""
    sim = make_sim(density=DENSITY, options=Options(cronos_per_second=1000))
    config = sim_config(
        database_url,
        TOKENPULSE_INGEST_RPC_CHAINS="25",
        TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS="50000",
    )
    head = sim.world.head(CRONOS)
    start = head - 30_000
    async with opened(config, pool, sim) as ingestor:
        tip = await ingestor.sync_tip(CRONOS)
        fill = await ingestor.backfill(CRONOS, start)
        sizer = ingestor._sizers[(CRONOS, Priority.BACKFILL)]
    rpc_calls = sim.calls.calls("rpc")
    refused = [c for c in rpc_calls if c.endpoint == "eth_getLogs" and c.outcome == "error"]
    assert refused, "the node never refused a range"
    assert sizer.cap == 2_000  # the stated limit, learned once
    assert len(refused) <= 2  # once for the tip's window, once for backfill's
    assert {c.endpoint for c in rpc_calls} >= {"eth_getLogs", "batch"}  # headers in batches
    assert tip.complete
    assert fill.complete
    rows = await stored(pool, CRONOS)
    assert len(rows) == len(set(rows))
    assert set(rows) == truth(sim, CRONOS, from_block=start)
    assert await covered(pool, CRONOS) == [(start, head)]
