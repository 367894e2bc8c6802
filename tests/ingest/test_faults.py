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

from app.ingest.runtime import Ingestor, SyncReport
from app.simulator import Options, Simulator
from app.store import ingest_status
from app.store.pool import Pool
from app.upstreams import Priority
from app.upstreams.errors import UpstreamError
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth

POLYGON, CRONOS = 137, 25
DENSITY = {POLYGON: 20.0, CRONOS: 20.0}  # transfers a day
# Backfill the last 45 days or so (some 900 transfers a chain, several windows) rather
# than the whole history: the faults hit the same code either way.
HISTORY_BLOCKS = {POLYGON: 2_000_000, CRONOS: 700_000}


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


def history_start(sim: Simulator, chain_id: int) -> int:
    return sim.world.head(chain_id) - HISTORY_BLOCKS[chain_id]


async def ingest(ingestor: Ingestor, sim: Simulator, chain_id: int) -> list[SyncReport]:
    """sync_tip then backfill, each until complete."""
    start = history_start(sim, chain_id)
    tips, _ = await until_complete(lambda: ingestor.sync_tip(chain_id))
    fills, _ = await until_complete(lambda: ingestor.backfill(chain_id, start))
    return tips + fills


async def assert_truth(pool: Pool, sim: Simulator, chain_id: int) -> None:
    start = history_start(sim, chain_id)
    rows = await stored(pool, chain_id)
    assert len(rows) == len(set(rows)), "duplicates stored"
    assert set(rows) == truth(sim, chain_id, from_block=start)
    assert await covered(pool, chain_id) == [(start, sim.world.head(chain_id))]


def outcomes(sim: Simulator, service: str) -> set[str]:
    return {call.outcome for call in sim.calls.calls(service)}


FAULTS: list[Any] = [
    pytest.param(POLYGON, "etherscan", "malformed_json", {"count": 4}, id="etherscan-malformed"),
    pytest.param(CRONOS, "cronos", "malformed_json", {"count": 4}, id="cronos-malformed"),
    pytest.param(POLYGON, "etherscan", "wrong_types", {"count": 4}, id="etherscan-wrong-types"),
    pytest.param(CRONOS, "cronos", "wrong_types", {"count": 4}, id="cronos-wrong-types"),
    pytest.param(
        POLYGON, "etherscan", "truncated_page", {"count": 8, "keep": 0.5}, id="etherscan-truncated"
    ),
    pytest.param(
        CRONOS,
        "cronos",
        "truncated_page",
        {"probability": 0.5, "duration": 1.0},
        id="cronos-truncated-often",
    ),
    pytest.param(POLYGON, "etherscan", "rate_limit_storm", {"duration": 0.6}, id="etherscan-429"),
    pytest.param(CRONOS, "cronos", "rate_limit_storm", {"duration": 0.6}, id="cronos-429-storm"),
    pytest.param(POLYGON, "etherscan", "outage", {"duration": 1.0}, id="etherscan-outage"),
    pytest.param(POLYGON, "etherscan", "query_timeout", {"count": 3}, id="query-timeout"),
]


@pytest.mark.parametrize(("chain_id", "service", "kind", "spec"), FAULTS)
async def test_faults_leave_the_store_equal_to_the_truth(
    database_url: str, pool: Pool, chain_id: int, service: str, kind: str, spec: dict[str, Any]
) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url)
    sim.faults.add(kind, service=service, endpoint="logs/getLogs", **spec)
    async with opened(config, pool, sim) as ingestor:
        reports = await ingest(ingestor, sim, chain_id)
    assert any(outcome.startswith("fault:") for outcome in outcomes(sim, service))
    await assert_truth(pool, sim, chain_id)
    if kind == "wrong_types":
        assert sum(r.rejected for r in reports) > 0
        assert sum(r.rejected_by_reason["bad_quantity"] for r in reports) > 0


async def test_every_fault_at_once(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url)
    for kind in ("malformed_json", "wrong_types", "truncated_page", "rate_limit_storm"):
        sim.faults.add(kind, service="*", probability=0.15, duration=1.5)
    sim.faults.add("outage", service="etherscan", duration=0.5)
    async with opened(config, pool, sim) as ingestor:
        for chain_id in (POLYGON, CRONOS):
            await ingest(ingestor, sim, chain_id)
    for chain_id in (POLYGON, CRONOS):
        await assert_truth(pool, sim, chain_id)


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
