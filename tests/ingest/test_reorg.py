"""Reorgs above the finality point: the next sync_tip deletes the orphaned rows, re-ingests
the new fork in the same transaction, and logs a reorg_events row; the store then equals
the new ground truth. Via Etherscan (one header per call) and JSON-RPC (headers batched)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from app.ingest.reorg import find_fork
from app.ingest.sources import Meter
from app.store import reorgs
from app.store.pool import Pool
from app.upstreams import Priority
from app.upstreams.parse import BlockHeader
from tests.ingest.helpers import covered, make_sim, opened, sim_config, sql, stored, truth

ETH = 1  # finalized 64 blocks below the head in the simulator
DENSITY = {ETH: 700.0}  # about one transfer every ten blocks
SOURCES = [
    pytest.param({}, id="etherscan"),
    pytest.param({"TOKENPULSE_INGEST_RPC_CHAINS": "1"}, id="rpc"),
]


@pytest.fixture
def mode() -> str:
    return "portable"  # the rewind queries are mode-independent (test_store_ingest runs both)


@pytest.mark.parametrize("env", SOURCES)
@pytest.mark.parametrize("depth", [20, 60])
async def test_reorg_replaces_the_orphaned_rows(
    database_url: str, pool: Pool, env: dict[str, str], depth: int
) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_INGEST_TIP_START_BLOCKS="300", **env)
    async with opened(config, pool, sim) as ingestor:
        first = await ingestor.sync_tip(ETH)
        start, head = first.from_block, first.head
        before = truth(sim, ETH, start)
        assert set(await stored(pool, ETH)) == before

        sim.reorg(ETH, depth)  # same height, the top `depth` blocks replaced
        after = truth(sim, ETH, start)
        assert before - after, "precondition: the reorg orphaned some transfers"
        assert after - before, "precondition: the new fork has other transfers"

        report = await ingestor.sync_tip(ETH)

    rows = await stored(pool, ETH)
    assert len(rows) == len(set(rows))
    assert set(rows) == after
    assert await covered(pool, ETH) == [(start, head)]
    assert report.reorged_blocks >= depth
    assert report.complete
    events = await sql(pool, "select * from reorg_events where chain_id = %s", (ETH,))
    assert len(events) == 1
    event = events[0]
    assert event["head"] == head
    assert event["fork_block"] <= head - depth  # the highest block still canonical, or lower
    assert event["depth"] == head - event["fork_block"] == report.reorged_blocks
    orphaned_above_fork = {r for r in before if r[6] > event["fork_block"]}
    assert event["rows_deleted"] == len(orphaned_above_fork)
    assert event["rows_inserted"] == len({r for r in after if r[6] > event["fork_block"]})


async def test_reorg_then_new_blocks(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_INGEST_TIP_START_BLOCKS="300")
    async with opened(config, pool, sim) as ingestor:
        first = await ingestor.sync_tip(ETH)
        sim.reorg(ETH, 10)
        sim.clock.advance(600)  # 50 more blocks on the new fork
        report = await ingestor.sync_tip(ETH)
        quiet = await ingestor.sync_tip(ETH)
    assert report.head == first.head + 50
    assert set(await stored(pool, ETH)) == truth(sim, ETH, first.from_block)
    assert await covered(pool, ETH) == [(first.from_block, report.head)]
    assert quiet.reorged_blocks == 0
    assert quiet.calls <= 3  # head, finalized, one header: a quiet chain costs little


async def test_checkpoints_stay_above_finality(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = sim_config(database_url, TOKENPULSE_INGEST_TIP_START_BLOCKS="300")
    async with opened(config, pool, sim) as ingestor:
        first = await ingestor.sync_tip(ETH)
        sim.clock.advance(12 * 100)
        second = await ingestor.sync_tip(ETH)
    found = await sql(pool, "select block_number from block_hashes where chain_id = %s", (ETH,))
    assert [row["block_number"] for row in found] == [second.head]
    assert second.safe_head is not None
    assert first.head <= second.safe_head  # the first checkpoint went below finality: pruned


class FakeHeaders:
    """A source whose chain has the given hashes; counts header requests."""

    header_batch = 2

    def __init__(self, chain: dict[int, str]) -> None:
        self.chain = chain
        self.asked: list[list[int]] = []

    async def headers(
        self, numbers: Sequence[int], priority: Priority, meter: Meter
    ) -> dict[int, BlockHeader]:
        self.asked.append(list(numbers))
        return {n: header(n, self.chain[n]) for n in numbers if n in self.chain}


def header(number: int, block_hash: str) -> BlockHeader:
    return BlockHeader(number, block_hash, "0x" + "00" * 32, datetime(2026, 1, 1, tzinfo=UTC))


def h(n: int) -> str:
    return "0x" + f"{n:064x}"


class Count:
    calls = 0


@pytest.mark.parametrize(
    ("known", "chain", "fork", "asked"),
    [
        pytest.param([], {}, None, [], id="nothing-known"),
        pytest.param([(30, h(30)), (20, h(20))], {30: h(30)}, None, [[30, 20]], id="unchanged"),
        pytest.param(
            [(30, h(30)), (25, h(25)), (20, h(20)), (10, h(10))],
            {30: h(99), 25: h(98), 20: h(20), 10: h(10)},
            20,
            [[30, 25], [20, 10]],
            id="highest-still-canonical",
        ),
        pytest.param(
            [(30, h(30)), (20, h(20))], {20: h(98)}, 5, [[30, 20]], id="none-canonical-finality"
        ),
        pytest.param(
            [(30, h(30)), (30, h(31)), (20, h(20))],
            {30: h(30), 20: h(20)},
            20,
            [[30, 20]],
            id="two-hashes-for-one-block",
        ),
    ],
)
async def test_find_fork(
    known: list[tuple[int, str]],
    chain: dict[int, str],
    fork: int | None,
    asked: list[list[int]],
) -> None:
    source = FakeHeaders(chain)
    blocks = [reorgs.KnownBlock(number, block_hash) for number, block_hash in known]
    found = await find_fork(source, blocks, 5, Priority.TIP, Count())  # type: ignore[arg-type]
    assert found == fork
    assert source.asked == asked
