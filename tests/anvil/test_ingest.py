"""The ingestion pipeline against a real node: app.ingest.Ingestor over anvil into PostgreSQL.

A chains file with one rpc chain (31337, the test's anvil, the freshly deployed token) drives
a real Ingestor; the stored rows must equal what was sent and what the node's eth_getLogs
says. Then the chain is reorganised above the finality point (anvil_reorg, or evm_revert to a
snapshot and different transactions), and the next sync_tip must delete the orphaned rows and
ingest the new canonical ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.config import Config
from app.ingest.runtime import Ingestor
from app.store import coverage
from app.store.pool import Pool
from tests.anvil.conftest import (
    CHAIN_ID,
    SLOTS_IN_AN_EPOCH,
    Anvil,
    Sent,
    TestToken,
    node_transfers,
    send_everything,
)
from tests.conftest import make_config

SUPPLY = 1_000_000 * 10**18
CHAINS_FILE = """\
[token]
address = "{token}"
name = "Tokenpulse Test Token"
symbol = "TPT"
decimals = 18

[[chains]]
id = {chain_id}
name = "Anvil"
slug = "anvil"
provider = "rpc"
rpc_url = "{url}"
first_block = {first_block}
finality = "{finality}"
block_time_seconds = 1
"""
ConfigFor = Callable[[TestToken, str], Config]
# A local node needs no pacing; small windows make several eth_getLogs windows per run.
FAST = {
    "TOKENPULSE_UPSTREAM_CALLS_PER_SECOND": "1000",
    "TOKENPULSE_UPSTREAM_PACING_MARGIN_SECONDS": "0",
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "4",
}


@pytest.fixture
def config_for(tmp_path: Path, database_url: str) -> ConfigFor:
    """The configuration of one rpc chain: the test's node and token, from its deployment."""

    def make(token: TestToken, finality: str) -> Config:
        path = tmp_path / "chains.toml"
        path.write_text(
            CHAINS_FILE.format(
                token=token.address,
                chain_id=CHAIN_ID,
                url=token.node.url,
                first_block=token.deployment.block_number,
                finality=finality,
            )
        )
        return make_config(database_url, TOKENPULSE_CHAINS_FILE=str(path), **FAST)

    return make


@asynccontextmanager
async def opened(config: Config, pool: Pool) -> AsyncIterator[Ingestor]:
    ingestor = await Ingestor.open(config, pool)
    try:
        yield ingestor
    finally:
        await ingestor.close()


async def stored(pool: Pool) -> list[Sent]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select tx_hash, log_index, block_number, block_hash, from_address, to_address,"
            " value from transfers where chain_id = %s order by block_number, log_index",
            (CHAIN_ID,),
        )
        rows = await cur.fetchall()
    return [
        Sent(
            tx_hash="0x" + bytes(row["tx_hash"]).hex(),
            log_index=row["log_index"],
            block_number=row["block_number"],
            block_hash="0x" + bytes(row["block_hash"]).hex(),
            from_address="0x" + bytes(row["from_address"]).hex(),
            to_address="0x" + bytes(row["to_address"]).hex(),
            value=int(row["value"]),
        )
        for row in rows
    ]


async def covered(pool: Pool) -> list[tuple[int, int]]:
    async with pool.connection() as conn:
        return await coverage.list_ranges(conn, CHAIN_ID)


async def test_ingests_exactly_the_transfers_sent(
    anvil: Anvil, pool: Pool, config_for: ConfigFor
) -> None:
    token = TestToken.deploy(anvil, SUPPLY)
    first = token.deployment.block_number
    expected = send_everything(token)
    head = anvil.mine(3)
    async with opened(config_for(token, "depth:2"), pool) as ingestor:
        assert ingestor.chain_ids() == [CHAIN_ID]
        backfill = await ingestor.backfill(CHAIN_ID, first)
        tip = await ingestor.sync_tip(CHAIN_ID)

        assert await stored(pool) == expected == node_transfers(anvil, token.address)
        assert backfill.inserted + tip.inserted == len(expected)
        assert backfill.rejected == tip.rejected == 0
        assert backfill.skipped_erc721 + tip.skipped_erc721 == 1
        assert tip.head == tip.covered_to == head
        assert await covered(pool) == [(first, head)]

        again = await ingestor.sync_tip(CHAIN_ID)  # nothing new: nothing inserted
        assert again.inserted == 0
        assert again.reorged_blocks == 0
        assert await stored(pool) == expected


@pytest.mark.parametrize(
    ("finality", "depth"),
    [
        pytest.param("depth:5", 3, id="depth"),
        # anvil's finalized is the head minus 2 * SLOTS_IN_AN_EPOCH (4): a 3-block reorg is above it
        pytest.param("finalized", 2 * SLOTS_IN_AN_EPOCH - 1, id="finalized"),
    ],
)
async def test_reorg_replaces_orphaned_transfers(
    anvil: Anvil, pool: Pool, config_for: ConfigFor, finality: str, depth: int
) -> None:
    token = TestToken.deploy(anvil, SUPPLY)
    owner, alice, bob, carol = anvil.accounts[:4]
    send_everything(token)
    anvil.mine(6)
    # The blocks the reorg will replace: a transfer in each of the last `depth` blocks.
    doomed = [token.transfer(owner, alice, 100 + n)[1][0] for n in range(depth)]
    assert doomed[0].block_number == anvil.block_number() - depth + 1

    async with opened(config_for(token, finality), pool) as ingestor:
        await ingestor.backfill(CHAIN_ID, token.deployment.block_number)
        await ingestor.sync_tip(CHAIN_ID)
        before = await stored(pool)
        assert before == node_transfers(anvil, token.address)
        assert set(doomed) <= set(before)

        # Same height, new hashes: the first and last new blocks get other transfers.
        replacements = [
            ({"from": owner, "to": token.address, "data": token.transfer_calldata(bob, 7)}, 0),
            (
                {
                    "from": owner,
                    "to": token.address,
                    "data": token.batch_calldata([(carol, 8), (bob, 9)]),
                },
                depth - 1,
            ),
        ]
        anvil.reorg(depth, replacements)
        after_reorg = node_transfers(anvil, token.address)
        assert not set(doomed) & set(after_reorg)
        anvil.mine(1)  # and the chain goes on

        report = await ingestor.sync_tip(CHAIN_ID)
        now = await stored(pool)
        assert now == node_transfers(anvil, token.address) == after_reorg
        assert not {s.tx_hash for s in doomed} & {s.tx_hash for s in now}
        assert [s.value for s in now[-3:]] == [7, 8, 9]
        assert report.reorged_blocks >= depth
        assert report.covered_to == anvil.block_number()
        assert await covered(pool) == [(token.deployment.block_number, report.covered_to)]


@pytest.mark.parametrize("longer", [True, False], ids=["longer-fork", "shorter-fork"])
async def test_reorg_by_snapshot_and_revert(
    anvil: Anvil, pool: Pool, config_for: ConfigFor, longer: bool
) -> None:
    """evm_revert to a snapshot, then other transactions: a fork longer or shorter than the
    chain the store saw (a shorter one leaves stored blocks above the node's new head)."""
    token = TestToken.deploy(anvil, SUPPLY)
    owner, alice, bob = anvil.accounts[:3]
    send_everything(token)
    anvil.mine(6)
    snapshot = anvil.rpc("evm_snapshot")
    doomed = token.transfer(owner, alice, 11)[1] + token.transfer(alice, bob, 5)[1]
    anvil.mine(1)
    old_head = anvil.block_number()

    async with opened(config_for(token, "depth:6"), pool) as ingestor:
        await ingestor.backfill(CHAIN_ID, token.deployment.block_number)
        await ingestor.sync_tip(CHAIN_ID)
        assert set(doomed) <= set(await stored(pool))

        assert anvil.rpc("evm_revert", snapshot) is True
        fork = token.transfer(owner, bob, 12)[1]
        if longer:
            fork += token.batch_transfer(owner, [(alice, 1)])[1]
            anvil.mine(2)
        assert (anvil.block_number() > old_head) is longer

        report = await ingestor.sync_tip(CHAIN_ID)
        now = await stored(pool)
        assert now == node_transfers(anvil, token.address)
        assert set(fork) <= set(now)
        assert not set(doomed) & set(now)
        assert report.reorged_blocks > 0
        assert await covered(pool) == [(token.deployment.block_number, anvil.block_number())]
