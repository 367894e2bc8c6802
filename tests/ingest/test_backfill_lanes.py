"""The backfill job fills several chains at once (app.ingest.warm.lanes), so the keys are
not idle while one chain waits for an answer or a write; the first error still ends the run."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from app.ingest import warm
from app.store import pool as pool_module
from app.upstreams import errors as upstream_errors
from tests.conftest import make_config
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth

CHAINS = (1, 137, 43114)  # Etherscan chains: one key set of two keys


@pytest.fixture
def mode() -> str:
    return "portable"  # nothing here depends on the schema mode


def test_two_lanes_per_key_at_most_one_per_chain() -> None:
    config = make_config()  # two Etherscan keys, one Cronos key (and its RPC URL unused)
    etherscan = [chain for chain in config.chains if chain.provider.value == "etherscan"]
    assert warm.lanes(etherscan) == 4
    assert warm.lanes(etherscan[:3]) == 3
    assert warm.lanes(list(config.chains)) == 6  # two Etherscan keys and the Cronos key
    assert warm.lanes([]) == 0


async def test_chains_are_filled_at_once_and_completely(
    database_url: str, pool: pool_module.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(density=0.05)
    config = sim_config(database_url, TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS="200000")
    chains = tuple(chain for chain in config.chains if chain.id in CHAINS)
    config = dataclasses.replace(config, chains=chains)
    async with opened(config, pool, sim) as ingestor:
        tips = {chain_id: await ingestor.sync_tip(chain_id) for chain_id in CHAINS}
        backfill, running, most = ingestor.backfill, set[int](), 0

        async def spy(chain_id: int, *args: Any, **kwargs: Any) -> Any:
            nonlocal most
            assert chain_id not in running  # a chain is in one lane at a time
            running.add(chain_id)
            most = max(most, len(running))
            try:
                return await backfill(chain_id, *args, **kwargs)
            finally:
                running.discard(chain_id)

        monkeypatch.setattr(ingestor, "backfill", spy)
        totals = await warm.fill_gaps(ingestor, pool, config, seconds=120)
    assert most == len(CHAINS)
    assert not totals.stopped
    assert totals.errors == []
    for chain in chains:
        assert await covered(pool, chain.id) == [(chain.first_block, tips[chain.id].head)]
        rows = await stored(pool, chain.id)
        assert len(rows) == len(set(rows))
        assert set(rows) == truth(sim, chain.id)


async def test_the_first_error_ends_the_run_and_the_other_lanes(
    database_url: str, pool: pool_module.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(density=0.05)
    config = sim_config(database_url)
    config = dataclasses.replace(
        config, chains=tuple(chain for chain in config.chains if chain.id in CHAINS)
    )
    cancelled: list[int] = []
    async with opened(config, pool, sim) as ingestor:
        for chain_id in CHAINS:
            await ingestor.sync_tip(chain_id)

        async def spy(chain_id: int, *args: Any, **kwargs: Any) -> Any:
            if chain_id == 137:
                await asyncio.sleep(0.05)  # the others are under way
                raise upstream_errors.UpstreamUnavailable("gave up", provider="etherscan")
            try:
                await asyncio.sleep(60)  # a window that takes long
            except asyncio.CancelledError:
                cancelled.append(chain_id)
                raise

        monkeypatch.setattr(ingestor, "backfill", spy)
        with pytest.raises(upstream_errors.UpstreamUnavailable, match="gave up"):
            await asyncio.wait_for(warm.fill_gaps(ingestor, pool, config, seconds=60), 10)
    assert sorted(cancelled) == [1, 43114]
