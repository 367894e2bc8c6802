"""Legacy JSON shapes shared by the REST shims: Etherscan-style rows and chain snapshots.

Rows keep the legacy ``tokentx`` field names, every value a string (legacy-api.md §1.3),
plus ``chainId`` (a number), ``chainName`` and ``logIndex``. Fields the store does not hold
for a row (``nonce``, gas figures, ``methodId``, ``functionName`` where the source gave
none) are ``null``, never an invented ``"0"``; ``input`` is ``"deprecated"``, as Etherscan
itself now answers. ``confirmations`` is computed from the head the worker last saw
(the legacy value was frozen at ingestion), ``null`` before the first tip cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.config import Config
from app.domain import Chain
from app.ops.transfer_service import ChainState
from app.store.transfer_pages import StoredTransfer
from app.warm import WarmStatus

ALL_CHAINS = {"id": 0, "name": "All Chains"}


def _text(value: int | str | None) -> str | None:
    return None if value is None else str(value)


def row(item: StoredTransfer, config: Config, snapshot: ChainState) -> dict[str, Any]:
    chain = _chain(config, item.chain_id)
    head = snapshot.head(item.chain_id)
    return {
        "blockNumber": str(item.block_number),
        "timeStamp": str(int(item.block_time.timestamp())),
        "hash": item.tx_hash,
        "nonce": _text(item.nonce),
        "blockHash": item.block_hash,
        "from": item.from_address,
        "contractAddress": chain.token_address if chain else None,
        "to": item.to_address,
        "value": str(item.value),
        "tokenName": config.token.name,
        "tokenSymbol": config.token.symbol,
        "tokenDecimal": str(chain.decimals if chain else config.token.decimals),
        "transactionIndex": _text(item.tx_index),
        "gas": _text(item.gas),
        "gasPrice": _text(item.gas_price),
        "gasUsed": _text(item.gas_used),
        "cumulativeGasUsed": _text(item.cumulative_gas_used),
        "input": "deprecated",
        "methodId": item.method_id,
        "functionName": item.function_name,
        "confirmations": None if head is None else str(max(0, head - item.block_number + 1)),
        "logIndex": str(item.log_index),
        "chainId": item.chain_id,
        "chainName": chain.name if chain else None,
    }


def _chain(config: Config, chain_id: int) -> Chain | None:
    return next((chain for chain in config.chains if chain.id == chain_id), None)


def available_chains(config: Config) -> list[dict[str, Any]]:
    """``availableChains``: All Chains, then every enabled chain, in configuration order."""
    return [ALL_CHAINS, *({"id": chain.id, "name": chain.name} for chain in config.enabled_chains)]


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def snapshot(chain: Chain, state: ChainState, total: int | None, now: datetime) -> dict[str, Any]:
    """A legacy chain snapshot (§1.3), with lastBlock/lastTimestamp actually filled in."""
    fresh: Mapping[str, Any] = state.freshness.get(chain.id, {})
    row_: Mapping[str, Any] = state.rows.get(chain.id, {})
    warm = state.warm.get(chain.id)
    last_time: datetime | None = fresh.get("last_time")
    status = warm.warm if warm else WarmStatus.COLD
    lag = None if last_time is None else round(max(0.0, (now - last_time).total_seconds()), 3)
    return {
        "chainId": chain.id,
        "chainName": chain.name,
        "ready": int(row_.get("covered_blocks") or 0) > 0 or last_time is not None,
        "stale": status in (WarmStatus.STALE, WarmStatus.COLD),
        "warmStatus": status.value,
        "indexLagSeconds": lag,
        "totalTransfers": total,
        "upstreamTotalTransfers": None,
        "upstreamLastBlock": None,
        "upstreamUpdatedAt": None,
        "lastBlock": fresh.get("last_block"),
        "lastTimestamp": None if last_time is None else int(last_time.timestamp()),
        "coverageComplete": state.complete(chain),
        "lastCoveredBlock": row_.get("last_covered_block"),
    }
