"""The real default pace: at most one call per second per API key, as the simulator's call
log sees it, within one process (keys used in turn) and across processes sharing a key
through the PostgreSQL budget ledger (app.ingest.budget.StoreLedger).

These tests take real seconds on purpose: they run with TOKENPULSE_UPSTREAM_CALLS_PER_SECOND
at its default of 1.0.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.config import Config
from app.ingest.budget import StoreLedger
from app.simulator import Simulator
from app.simulator.limits import fingerprint
from app.store import budget
from app.store import pool as pool_module
from app.upstreams import fingerprint as key_id
from tests.ingest.helpers import make_sim, opened, sim_config, stored, truth, warm

KEY_1, KEY_2 = "test-etherscan-key-1", "test-etherscan-key-2"
POLYGON, AVALANCHE = 137, 43114
QUIET = {
    # Defaults everywhere that matter here (1 call/s per key, 0.05 s margin); a tip window
    # small enough for one page so the call count stays small.
    "TOKENPULSE_INGEST_TIP_START_BLOCKS": "3000",
}


@pytest.fixture
def mode() -> str:
    return "portable"


@pytest.fixture
async def second_pool(config: Config) -> AsyncIterator[pool_module.Pool]:
    """Another process's pool on the same database."""
    other = pool_module.create(config.settings, name="second-process")
    await other.open(wait=True, timeout=10)
    try:
        yield other
    finally:
        await other.close()


def per_key(sim: Simulator) -> dict[str, int]:
    """The most calls of each key inside any one-second window, as the upstream saw them."""
    return sim.calls.max_per_second(lambda call: call.key, service="etherscan")


def calls_of(sim: Simulator, key: str) -> int:
    return sum(1 for call in sim.calls.calls("etherscan") if call.key == fingerprint(key))


async def test_default_pace_is_one_call_per_second_per_key(
    database_url: str, pool: pool_module.Pool
) -> None:
    sim = make_sim(density=0.5, per_second=None)  # the keys' real plans
    warm(sim, POLYGON, AVALANCHE)
    config = sim_config(database_url, fast=False, **QUIET)
    assert config.settings.upstream_calls_per_second == 1.0
    async with opened(config, pool, sim) as ingestor:
        reports = await asyncio.gather(ingestor.sync_tip(POLYGON), ingestor.sync_tip(AVALANCHE))
    assert sum(report.calls for report in reports) >= 6
    assert calls_of(sim, KEY_1) >= 3
    assert calls_of(sim, KEY_2) >= 3  # the two keys were used in turn
    assert per_key(sim) == {fingerprint(KEY_1): 1, fingerprint(KEY_2): 1}
    for report in reports:
        assert set(await stored(pool, report.chain_id)) == truth(
            sim, report.chain_id, from_block=report.from_block
        )
    async with pool.connection() as conn:  # every call was counted in the shared ledger
        counted = await budget.list_calls(conn)
    assert sum(row.calls for row in counted) == len(sim.calls.calls("etherscan"))


async def test_two_processes_sharing_a_key_keep_its_pace(
    database_url: str, pool: pool_module.Pool, second_pool: pool_module.Pool
) -> None:
    sim = make_sim(density=0.5, per_second=None)
    warm(sim, POLYGON, AVALANCHE)
    config = sim_config(
        database_url,
        fast=False,
        TOKENPULSE_ETHERSCAN_API_KEYS=KEY_1,
        TOKENPULSE_INGEST_TIP_START_BLOCKS="300",
    )
    async with (
        opened(config, pool, sim, ledger=StoreLedger(pool)) as first,
        opened(config, second_pool, sim, ledger=StoreLedger(second_pool)) as second,
    ):
        # Both follow the same chain at once, as two workers would after a failover race.
        await asyncio.gather(first.sync_tip(AVALANCHE), second.sync_tip(AVALANCHE))
    assert calls_of(sim, KEY_1) >= 4
    assert per_key(sim) == {fingerprint(KEY_1): 1}
    async with pool.connection() as conn:
        budgets = await budget.list_budgets(conn)
    assert [b.key_id for b in budgets] == [key_id("etherscan", KEY_1)]
    assert budgets[0].calls_today == calls_of(sim, KEY_1)
