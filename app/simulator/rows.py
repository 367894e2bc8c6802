"""The wire shapes of logs, transfers and blocks, per upstream (upstreams.md §1.4, §3.1).

Etherscan ``getLogs`` renders every number as hex and zero as ``"0x"``; ``tokentx`` renders
decimal strings and has no ``logIndex`` (the Blockscout-style Cronos explorer adds one);
JSON-RPC renders hex quantities with zero as ``"0x0"``.
"""

from __future__ import annotations

from typing import Any

from app.simulator.chainspec import TokenSpec
from app.simulator.world import Block, Log, World


def qty(value: int) -> str:
    """A JSON-RPC QUANTITY."""
    return hex(value)


def etherscan_hex(value: int) -> str:
    """Etherscan getLogs renders zero as "0x", not "0x0"."""
    return "0x" if value == 0 else hex(value)


def etherscan_log(world: World, log: Log) -> dict[str, Any]:
    extras = world.tx_extras(log.chain_id, log.tx_hash, log.tx_index)
    return {
        "address": world.token.address,
        "topics": log.topics,
        "data": log.data,
        "blockNumber": etherscan_hex(log.block),
        "blockHash": log.block_hash,
        "timeStamp": etherscan_hex(log.timestamp),
        "gasPrice": etherscan_hex(extras.gas_price),
        "gasUsed": etherscan_hex(extras.gas_used),
        "logIndex": etherscan_hex(log.log_index),
        "transactionHash": log.tx_hash,
        "transactionIndex": etherscan_hex(log.tx_index),
    }


def tokentx(world: World, log: Log, head: int, *, log_index: bool = False) -> dict[str, Any]:
    token: TokenSpec = world.token
    extras = world.tx_extras(log.chain_id, log.tx_hash, log.tx_index)
    row: dict[str, Any] = {
        "blockNumber": str(log.block),
        "timeStamp": str(log.timestamp),
        "hash": log.tx_hash,
        "nonce": str(extras.nonce),
        "blockHash": log.block_hash,
        "from": log.from_address,
        "contractAddress": token.address,
        "to": log.to_address,
        "value": str(log.value),
        "tokenName": token.name,
        "tokenSymbol": token.symbol,
        "tokenDecimal": str(token.decimals),
        "transactionIndex": str(log.tx_index),
        "gas": str(extras.gas),
        "gasPrice": str(extras.gas_price),
        "gasUsed": str(extras.gas_used),
        "cumulativeGasUsed": str(extras.cumulative_gas_used),
        "input": "deprecated",
        "methodId": "0xa9059cbb",
        "functionName": "transfer(address _to, uint256 _value)",
        "confirmations": str(max(0, head - log.block)),
    }
    if log_index:
        row["logIndex"] = str(log.log_index)
    return row


def rpc_log(world: World, log: Log, *, with_timestamp: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {
        "address": world.token.address,
        "topics": log.topics,
        "data": log.data,
        "blockNumber": qty(log.block),
        "transactionHash": log.tx_hash,
        "transactionIndex": qty(log.tx_index),
        "blockHash": log.block_hash,
        "logIndex": qty(log.log_index),
        "removed": False,
    }
    if with_timestamp:
        row["blockTimestamp"] = qty(log.timestamp)
    return row


def rpc_block(world: World, chain_id: int, block: Block, full: bool) -> dict[str, Any]:
    """A block object as eth_getBlockByNumber returns it (only the token's transactions)."""
    logs = list(world.logs(chain_id, block.number, block.number))
    seen: dict[str, Log] = {}
    for log in logs:
        seen.setdefault(log.tx_hash, log)
    transactions: list[Any] = (
        [_rpc_tx(world, block, log) for log in seen.values()] if full else list(seen)
    )
    gas_used = sum(
        world.tx_extras(chain_id, log.tx_hash, log.tx_index).gas_used for log in seen.values()
    )
    return {
        "number": qty(block.number),
        "hash": block.hash,
        "parentHash": block.parent_hash,
        "timestamp": qty(block.timestamp),
        "nonce": "0x0000000000000000",
        "miner": "0x" + block.hash[-40:],
        "difficulty": "0x0",
        "gasLimit": qty(30_000_000),
        "gasUsed": qty(gas_used),
        "baseFeePerGas": qty(max(1, world.tx_extras(chain_id, block.hash, 0).gas_price // 2)),
        "logsBloom": "0x" + "0" * 512,
        "extraData": "0x",
        "size": qty(1_000 + 120 * len(seen)),
        "stateRoot": "0x" + block.hash[2:][::-1],
        "transactionsRoot": "0x" + block.parent_hash[2:][::-1],
        "receiptsRoot": "0x" + "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        "uncles": [],
        "transactions": transactions,
    }


def _rpc_tx(world: World, block: Block, log: Log) -> dict[str, Any]:
    extras = world.tx_extras(log.chain_id, log.tx_hash, log.tx_index)
    return {
        "hash": log.tx_hash,
        "blockHash": block.hash,
        "blockNumber": qty(block.number),
        "transactionIndex": qty(log.tx_index),
        "from": log.from_address,
        "to": world.token.address,
        "nonce": qty(extras.nonce),
        "gas": qty(extras.gas),
        "gasPrice": qty(extras.gas_price),
        "value": "0x0",
        "input": "0xa9059cbb" + log.to_address[2:].rjust(64, "0") + format(log.value, "064x"),
        "chainId": qty(log.chain_id),
        "type": "0x2",
    }
