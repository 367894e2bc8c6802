"""The JSON-RPC path against a real node: app.upstreams.RpcClient reading from anvil.

The chain is made by the test: the committed ERC-20 deployed from its bytecode, transfers of
every kind sent (plain, transferFrom, zero value, several in one transaction), an ERC-721-style
four-topic Transfer from the same contract, and empty blocks mined so that anvil's `safe` and
`finalized` tags point below the head. The client's parsed output must be exactly what was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import pytest

from app.upstreams import (
    ApiKey,
    Breakers,
    Gateway,
    InMemoryLedger,
    KeyPool,
    Limiter,
    RpcClient,
    new_http_client,
)
from app.upstreams.logs import ParsedLog
from tests.anvil.conftest import (
    CHAIN_ID,
    SLOTS_IN_AN_EPOCH,
    Anvil,
    Sent,
    TestToken,
    node_transfers,
    send_everything,
)

SUPPLY = 1_000_000 * 10**18
ClientFactory = Callable[[str], AbstractAsyncContextManager[RpcClient]]


@pytest.fixture
def rpc_client(anvil: Anvil) -> ClientFactory:
    """Opens an RpcClient for a token on the test's node, wired as the worker wires one."""

    @asynccontextmanager
    async def open_client(token: str) -> AsyncIterator[RpcClient]:
        async with new_http_client(timeout=10.0) as http:
            keys = KeyPool([ApiKey("rpc", f"rpc:{CHAIN_ID}", anvil.url, interval_seconds=0)])
            gateway = Gateway(f"rpc:{CHAIN_ID}", http, keys, Limiter(InMemoryLedger()), Breakers())
            yield RpcClient(gateway, chain_id=CHAIN_ID, token=token)

    return open_client


def as_sent(log: ParsedLog) -> Sent:
    assert log.block_hash is not None
    return Sent(
        tx_hash=log.tx_hash,
        log_index=log.log_index,
        block_number=log.block_number,
        block_hash=log.block_hash,
        from_address=log.from_address,
        to_address=log.to_address,
        value=log.value,
    )


async def test_heads_and_blocks(anvil: Anvil, rpc_client: ClientFactory) -> None:
    token = TestToken.deploy(anvil, SUPPLY)
    head = anvil.mine(10)
    async with rpc_client(token.address) as client:
        assert await client.chain_id_of_node() == CHAIN_ID
        assert await client.block_number() == head

        latest = await client.block("latest")
        assert latest is not None
        assert (latest.number, latest.hash) == (head, anvil.block()["hash"])
        assert latest.parent_hash == anvil.block(head - 1)["hash"]
        node_time = int(anvil.block()["timestamp"], 16)
        assert latest.timestamp == datetime.fromtimestamp(node_time, UTC)

        safe, finalized = await client.block("safe"), await client.block("finalized")
        assert safe is not None
        assert finalized is not None
        assert safe.number == head - SLOTS_IN_AN_EPOCH
        assert finalized.number == head - 2 * SLOTS_IN_AN_EPOCH
        assert finalized.hash == anvil.block(finalized.number)["hash"]

        deployed = await client.block(token.deployment.block_number)
        assert deployed is not None
        assert deployed.hash == token.deployment.block_hash
        assert await client.block(head + 100) is None  # not mined yet: None, not an error

        numbers = [0, token.deployment.block_number, head, head + 5]
        headers = await client.blocks(numbers, batch_size=2)  # two JSON-RPC batches
        assert sorted(headers) == [0, token.deployment.block_number, head]
        assert all(headers[n].hash == anvil.block(n)["hash"] for n in headers)


async def test_get_logs_returns_exactly_the_transfers_sent(
    anvil: Anvil, rpc_client: ClientFactory
) -> None:
    token = TestToken.deploy(anvil, SUPPLY)
    expected = send_everything(token)
    head = anvil.mine(3)
    first = token.deployment.block_number
    async with rpc_client(token.address) as client:
        batch = await client.get_logs(first, head)

        assert batch.rejected == ()
        assert batch.skipped_erc721 == 1
        assert batch.received == len(expected) + 1  # the node sent the ERC-721 log too
        assert [as_sent(log) for log in batch.items] == expected
        assert expected == node_transfers(anvil, token.address)
        assert all(log.chain_id == CHAIN_ID for log in batch.items)

        # The header a log points to is the node's block; its time fills the transfer's.
        headers = await client.blocks([log.block_number for log in batch.items])
        transfers = [
            (log.with_block(headers[log.block_number]) if log.needs_block else log).to_transfer()
            for log in batch.items
        ]
        assert [t.block_time for t in transfers] == [
            headers[log.block_number].timestamp for log in batch.items
        ]
        assert sum(t.value for t in transfers if t.from_address == "0x" + "0" * 40) == SUPPLY

        # A narrower range holds only its own blocks' transfers.
        middle = expected[2].block_number
        part = await client.get_logs(middle, middle)
        assert [as_sent(log) for log in part.items] == [
            s for s in expected if s.block_number == middle
        ]


async def test_several_transfers_in_one_block(anvil: Anvil, rpc_client: ClientFactory) -> None:
    """Transactions mined together: log indexes count across the block, not per transaction."""
    token = TestToken.deploy(anvil, SUPPLY)
    owner, alice, bob = anvil.accounts[:3]
    anvil.rpc("evm_setAutomine", False)
    hashes = [
        anvil.rpc(
            "eth_sendTransaction",
            {"from": owner, "to": token.address, "data": data},
        )
        for data in (
            token.transfer_calldata(alice, 10),
            token.batch_calldata([(bob, 20), (alice, 30)]),
            token.transfer_calldata(bob, 40),
        )
    ]
    anvil.rpc("evm_mine")
    anvil.rpc("evm_setAutomine", True)
    head = anvil.block_number()
    block = anvil.block(head)
    assert [h.lower() for h in block["transactions"]] == [h.lower() for h in hashes]
    async with rpc_client(token.address) as client:
        batch = await client.get_logs(head, head)
    assert [(log.tx_hash, log.log_index, log.value) for log in batch.items] == [
        (hashes[0].lower(), 0, 10),
        (hashes[1].lower(), 1, 20),
        (hashes[1].lower(), 2, 30),
        (hashes[2].lower(), 3, 40),
    ]
    assert {log.block_hash for log in batch.items} == {block["hash"].lower()}
