"""Every chain ends up exactly as the simulator's ground truth (both schema modes).

sync_tip then backfill from first_block, on all ten chains of the built-in chains file:
Etherscan V2 for nine of them, the Cronos explorer for Cronos.
"""

from __future__ import annotations

import time

from app.store import ingest_status
from app.store.pool import Pool
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth


async def test_all_chains_equal_the_ground_truth(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=0.01)
    config = sim_config(database_url)
    started = time.perf_counter()
    async with opened(config, pool, sim) as ingestor:
        assert ingestor.chain_ids() == [chain.id for chain in config.chains]
        reports = {}
        for chain in config.enabled_chains:
            tip = await ingestor.sync_tip(chain.id)
            fill = await ingestor.backfill(chain.id, chain.first_block)
            reports[chain.id] = (tip, fill)
    assert time.perf_counter() - started < 30

    for chain in config.enabled_chains:
        tip, fill = reports[chain.id]
        rows = await stored(pool, chain.id)
        assert len(rows) == len(set(rows)), f"chain {chain.id}: duplicates"
        expected = truth(sim, chain.id)
        assert expected, f"chain {chain.id}: the simulator made no transfers"
        assert set(rows) == expected, f"chain {chain.id} differs from the truth"
        # Contiguous from first_block to the head the tip cycle saw.
        assert await covered(pool, chain.id) == [(chain.first_block, tip.head)]
        assert tip.complete
        assert fill.complete
        assert tip.rejected == fill.rejected == 0
        assert fill.to_block == tip.safe_head  # backfill stops at the finality point
        # ERC-721 Transfer logs (4 topics) were seen, counted and left out.
        summary = sim.truth(chain.id, "transfers", erc721="true", limit=0)
        nfts = summary["total"] - len(expected)
        assert tip.skipped_erc721 + fill.skipped_erc721 == nfts

    async with pool.connection() as conn:
        statuses = {s.chain_id: s for s in await ingest_status.list_all(conn)}
    assert set(statuses) == {chain.id for chain in config.chains}
    for chain_id, (tip, _) in reports.items():
        found = statuses[chain_id]
        assert (found.head, found.safe_head) == (tip.head, tip.safe_head)
        assert found.consecutive_failures == 0
        assert found.last_success_at is not None
        assert found.last_cycle is not None
        assert found.last_cycle["complete"] is True


async def test_a_second_cycle_with_no_new_blocks_changes_nothing(
    database_url: str, pool: Pool
) -> None:
    sim = make_sim(density=0.5)
    config = sim_config(database_url)
    async with opened(config, pool, sim) as ingestor:
        first = await ingestor.sync_tip(137)
        again = await ingestor.sync_tip(137)
        sim.clock.advance(3600)  # an hour: 1,800 new Polygon blocks
        later = await ingestor.sync_tip(137)
    assert first.inserted > 0
    assert (again.inserted, again.reorged_blocks, again.windows) == (0, 0, 0)
    assert later.from_block == first.head + 1
    assert later.head == first.head + 1800
    assert later.inserted > 0
    assert set(await stored(pool, 137)) == truth(sim, 137, from_block=first.from_block)
    assert await covered(pool, 137) == [(first.from_block, later.head)]
