"""Ground truth for tests and benchmarks: what an ingester should end up with at the head."""

from __future__ import annotations

import itertools
from typing import Any

from app.simulator.world import Log, World

WHATS = ("summary", "transfers", "holders", "holder-count", "supply")


def query(world: World, chain_id: int, what: str, **params: Any) -> Any:
    """Raise KeyError for an unknown chain and ValueError for an unknown ``what``."""
    world.spec(chain_id)
    head = world.head(chain_id)
    if what == "supply":
        return {"chainId": chain_id, "head": head, "supply": str(world.supply(chain_id))}
    if what == "holder-count":
        return {"chainId": chain_id, "head": head, "holderCount": world.holder_count(chain_id)}
    if what == "holders":
        limit = int(params.get("limit", 100))
        rows = world.balances(chain_id)
        return {
            "chainId": chain_id,
            "head": head,
            "holderCount": len(rows),
            "holders": [{"address": a, "balance": str(b)} for a, b in rows[:limit]],
            "sumOfBalances": str(sum(b for _, b in rows)),
        }
    if what == "transfers":
        return _transfers(world, chain_id, head, params)
    if what == "summary":
        rows = world.balances(chain_id)
        return {
            "chainId": chain_id,
            "head": head,
            "finalized": head - world.spec(chain_id).finalized_lag,
            "transfers": world.count_logs(chain_id, 0, head, erc20_only=True),
            "holderCount": len(rows),
            "supply": str(world.supply(chain_id)),
            "sumOfBalances": str(sum(b for _, b in rows)),
        }
    raise ValueError(f"unknown truth {what!r} (expected one of {', '.join(WHATS)})")


def _transfers(world: World, chain_id: int, head: int, params: dict[str, Any]) -> dict[str, Any]:
    lo = int(params.get("fromBlock", 0))
    hi = min(int(params.get("toBlock", head)), head)
    limit, offset = int(params.get("limit", 1000)), int(params.get("offset", 0))
    include_nft = str(params.get("erc721", "false")).lower() in ("1", "true")
    logs = world.logs(chain_id, lo, hi, erc20_only=not include_nft)
    return {
        "chainId": chain_id,
        "head": head,
        "fromBlock": lo,
        "toBlock": hi,
        "total": world.count_logs(chain_id, lo, hi, erc20_only=not include_nft),
        "transfers": [_row(log) for log in itertools.islice(logs, offset, offset + limit)],
    }


def _row(log: Log) -> dict[str, Any]:
    return {
        "blockNumber": log.block,
        "blockHash": log.block_hash,
        "timestamp": log.timestamp,
        "txHash": log.tx_hash,
        "txIndex": log.tx_index,
        "logIndex": log.log_index,
        "from": log.from_address,
        "to": log.to_address,
        "value": str(log.value),
        "erc721": log.erc721,
    }
