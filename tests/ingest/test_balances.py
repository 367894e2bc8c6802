"""Holder balances kept by ingestion equal the simulator's ground truth exactly: every chain
from its first block (both schema modes), and a chain's tip window through a reorg."""

from __future__ import annotations

from collections import Counter

import pytest

from app.store import balances
from app.store.balances import HolderFilter
from app.store.pool import Pool
from tests.ingest.helpers import make_sim, opened, sim_config, sql, truth

ZERO = "0x" + "00" * 20
ETH = 1


async def stored_balances(pool: Pool, chain_id: int) -> dict[str, int]:
    """Every balances row of a chain, the zero address included: {address: balance}."""
    rows = await sql(pool, "select address, balance from balances where chain_id = %s", (chain_id,))
    return {"0x" + bytes(row["address"]).hex(): int(row["balance"]) for row in rows}


def sums(rows: set[tuple[int, str, int, str, str, int, int, str]]) -> dict[str, int]:
    """What a set of truth rows adds up to per address (zero address included)."""
    found: Counter[str] = Counter()
    for _, _, _, sender, receiver, value, _, _ in rows:
        found[sender] -= value
        found[receiver] += value
    return dict(found)


async def all_holders(pool: Pool, chain_id: int) -> list[tuple[str, int]]:
    async with pool.connection() as conn:
        page = await balances.list_holders(conn, HolderFilter(chain_id=chain_id), 100_000)
    return [(holder.address, holder.balance) for holder in page]


async def test_balances_equal_the_ground_truth_on_every_chain(
    database_url: str, pool: Pool
) -> None:
    sim = make_sim(density=0.01)
    config = sim_config(database_url)
    async with opened(config, pool, sim) as ingestor:
        for chain in config.enabled_chains:
            await ingestor.sync_tip(chain.id)
            await ingestor.backfill(chain.id, chain.first_block)
    async with pool.connection() as conn:
        summaries = {s.chain_id: s for s in await balances.summaries(conn)}
    for chain in config.enabled_chains:
        expected = sim.world.balances(chain.id)  # positive balances, largest first, then address
        assert expected, f"chain {chain.id}: the simulator has no holders"
        # The holders list, in order, balance for balance.
        assert await all_holders(pool, chain.id) == expected, f"chain {chain.id}"
        # Every row: holders, emptied addresses at 0, the zero address at minus the supply.
        every = await stored_balances(pool, chain.id)
        supply = sim.world.supply(chain.id)
        assert every.pop(ZERO) == -supply
        assert {a: b for a, b in every.items() if b} == dict(expected)
        assert all(b >= 0 for b in every.values())
        summary = summaries[chain.id]
        truth_count = sim.truth(chain.id, "holder-count")["holderCount"]
        assert (summary.holders, summary.supply) == (truth_count, supply)
        assert summary.addresses == len(every)
        assert summary.complete, f"chain {chain.id}: coverage from first_block"
        assert summary.gaps == 0
        assert summary.covered_from == chain.first_block
        top, top_balance = expected[0]
        assert sim.world.balance_of(chain.id, top) == top_balance


@pytest.mark.parametrize("depth", [20, 60])
async def test_a_reorg_leaves_balances_exact(database_url: str, pool: Pool, depth: int) -> None:
    sim = make_sim(density={ETH: 700.0})  # about one transfer every ten blocks
    config = sim_config(database_url, TOKENPULSE_INGEST_TIP_START_BLOCKS="300")
    async with opened(config, pool, sim) as ingestor:
        first = await ingestor.sync_tip(ETH)
        start = first.from_block
        before = truth(sim, ETH, start)
        assert await stored_balances(pool, ETH) == sums(before)

        sim.reorg(ETH, depth)
        after = truth(sim, ETH, start)
        assert before - after, "precondition: the reorg orphaned some transfers"
        await ingestor.sync_tip(ETH)

    assert await stored_balances(pool, ETH) == sums(after)
    rows = await sql(pool, "select transfers from balances where chain_id = %s", (ETH,))
    assert all(row["transfers"] > 0 for row in rows)  # addresses left with none are removed
    async with pool.connection() as conn:
        summary = {s.chain_id: s for s in await balances.summaries(conn)}[ETH]
    assert not summary.complete  # the tip window starts far above first_block
    assert summary.gaps == 1
    window = sums(after)
    assert summary.holders == sum(1 for a, b in window.items() if a != ZERO and b > 0)
