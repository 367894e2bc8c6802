"""Finality probes against the simulator: every chain's latest/safe/finalized blocks as the
simulated nodes report them, failures recorded as rows, the job's store round trip."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.config import Config
from app.domain import FinalityKind
from app.ingest import finality
from app.simulator import Simulator
from app.store import finality as store_finality
from app.store.pool import Pool
from schedulers import jobs
from tests.ingest.helpers import make_sim, opened, sim_config

ETH, POLYGON, AVALANCHE, CRONOS = 1, 137, 43114, 25


def only(config: Config, *chain_ids: int) -> Config:
    chains = tuple(dataclasses.replace(c, enabled=c.id in chain_ids) for c in config.chains)
    return dataclasses.replace(config, chains=chains)


@pytest.fixture
def sim() -> Simulator:
    return make_sim(density=0.01)


async def stored(pool: Pool) -> list[store_finality.Observation]:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from finality_observations order by chain_id")
        return [store_finality.Observation(**row) for row in await cur.fetchall()]


def without_rpc(config: Config, *chain_ids: int) -> Config:
    """These chains as deployments without an rpc_url: their explorer API answers instead."""
    chains = tuple(
        dataclasses.replace(c, rpc_url=None) if c.id in chain_ids else c for c in config.chains
    )
    return dataclasses.replace(config, chains=chains)


async def test_chains_with_an_rpc_url_answer_all_three_tags_in_one_batch(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = sim_config(database_url)  # the simulator gives every chain an rpc_url
    async with opened(config, pool, sim) as ingestor:
        found = await finality.observe_all(ingestor)
    assert {row.chain_id for row in found} == {chain.id for chain in config.enabled_chains}
    assert await stored(pool) == sorted(found, key=lambda row: row.chain_id)
    world = sim.world
    for row in found:
        assert (row.ok, row.outcome, row.detail, row.source) == (True, "ok", None, "rpc"), row
        assert row.latest_block == world.head(row.chain_id)
        if row.chain_id == CRONOS:  # an Ethermint node: safe and finalized are latest
            assert row.safe_block == row.finalized_block == row.latest_block
        else:
            assert row.finalized_block == world.finalized(row.chain_id)
            assert row.safe_block == world.safe(row.chain_id)
        assert row.latest_time is not None
        assert row.finalized_time is not None
        assert row.finalized_time <= row.latest_time
        assert row.latency_ms >= 0
    eth = next(row for row in found if row.chain_id == ETH)
    assert eth.latest_block - eth.finalized_block == 64  # type: ignore[operator]
    assert eth.latest_block - eth.safe_block == 32  # type: ignore[operator]


async def test_etherscan_chains_ask_their_own_finality_tag(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = without_rpc(only(sim_config(database_url), ETH, AVALANCHE), ETH, AVALANCHE)
    async with opened(config, pool, sim) as ingestor:
        found = {row.chain_id: row for row in await finality.observe_all(ingestor)}
    eth, avalanche = found[ETH], found[AVALANCHE]
    assert (eth.source, eth.ok, eth.latest_block) == ("etherscan", True, sim.world.head(ETH))
    assert eth.finalized_block == sim.world.finalized(ETH)
    assert eth.finalized_time is not None
    assert eth.safe_block is None  # not asked: one call less
    assert avalanche.chain_id == AVALANCHE
    assert next(c for c in config.chains if c.id == AVALANCHE).finality.kind is FinalityKind.INSTANT
    # Instant finality: final at the latest block, no tag asked.
    assert (avalanche.source, avalanche.finalized_block) == ("etherscan", avalanche.latest_block)
    assert avalanche.finalized_time == avalanche.latest_time


async def test_a_failed_probe_is_a_row_with_the_error_code(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url, TOKENPULSE_RETRY_MAX_ATTEMPTS="2"), ETH, CRONOS)
    config = without_rpc(config, ETH)
    sim.faults.add("outage", service="etherscan")
    async with opened(config, pool, sim) as ingestor:
        found = {row.chain_id: row for row in await finality.observe_all(ingestor)}
    eth, cronos = found[ETH], found[CRONOS]
    assert (eth.ok, eth.source, eth.latest_block, eth.finalized_block) == (
        False,
        "etherscan",
        None,
        None,
    )
    assert eth.outcome.startswith("upstream_")
    assert eth.detail
    assert "test-etherscan-key" not in eth.detail  # never a key
    assert cronos.ok  # another source, unaffected
    assert {row.chain_id: row.ok for row in await stored(pool)} == {CRONOS: True, ETH: False}
    assert finality.summary(list(found.values())) == {
        "chains": 2,
        "failed": 1,
        "failed_chains": [ETH],
    }


async def test_the_finality_point_advances_with_the_chain(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url), ETH)
    async with opened(config, pool, sim) as ingestor:
        first = (await finality.observe_all(ingestor))[0]
        again = (await finality.observe_all(ingestor))[0]  # the frozen clock: no new block
        sim.clock.advance(120)  # ten Ethereum blocks
        moved = (await finality.observe_all(ingestor))[0]
    assert again.finalized_block == first.finalized_block
    assert moved.finalized_block == first.finalized_block + 10  # type: ignore[operator]
    async with pool.connection() as conn:
        (latest,) = await store_finality.list_latest(conn)
    assert (latest.chain_id, latest.finalized_block) == (ETH, moved.finalized_block)
    assert latest.advanced_at == moved.observed_at
    assert latest.last_observed_at == moved.observed_at


async def test_the_job_probes_then_prunes_past_the_retention(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url, TOKENPULSE_FINALITY_RETENTION_DAYS="2"), ETH)
    old = store_finality.Observation(
        datetime.now(UTC) - timedelta(days=3), ETH, "rpc", False, 1.0, "upstream_timeout"
    )
    async with pool.connection() as conn:
        await store_finality.insert_observations(conn, [old])

    async def leader() -> bool:
        return True

    async with opened(config, pool, sim) as ingestor:
        ctx = jobs.JobContext(config=config, pool=pool, is_leader=leader, ingestor=ingestor)
        await jobs.probe_finality(ctx)
    rows = await stored(pool)
    assert [(row.chain_id, row.ok) for row in rows] == [(ETH, True)]  # the old one pruned
    assert jobs.finality_job(config).every == timedelta(seconds=60)
