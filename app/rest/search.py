"""``GET /api/search?query=&type=&chainId=`` (legacy-api.md §1.7), from the store only.

``query`` is an address (0x + 40 hex), a transaction hash (0x + 64 hex) or a block number.
The answer keeps the legacy shape ``{success, searchType, query, source, type, found, data}``;
``source`` is ``database`` when something was found, else ``none`` (the legacy fallback to
Etherscan, which sent no chain id, is gone: the API never calls an upstream). Refusals are
400s in the API's error envelope: no ``query`` or an unrecognised one (``invalid_query``,
ENS names included), a ``type`` that does not fit it, an unknown chain.

``data`` by kind: address ``{address, transferCount, chainCount, message}``; transaction
``{hash, blockNumber, timeStamp, from, to, value, chainId, chainName, transfers[]}`` (its
first log, then all of them as legacy rows); block ``{blockNumber, chainId, transferCount,
chainCount, message, chains[]}`` (``chainId`` when one chain holds the block, else null).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.ops import lookups
from app.ops import state as app_state
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.ops.lookups import SearchKind, SearchResult
from app.ops.state import AppState
from app.ops.transfer_service import ChainState
from app.rest import http_cache, transfer_params, transfer_rows

SECTION = "rest_search"
_TYPES = {"address": SearchKind.ADDRESS, "transaction": SearchKind.TRANSACTION,
          "tx": SearchKind.TRANSACTION, "block": SearchKind.BLOCK}  # fmt: skip


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    params = request.query_params
    kind, text = lookups.detect(params.get("query") or "")
    wanted = (params.get("type") or "").strip().lower()
    if wanted and _TYPES.get(wanted) is not kind:
        message = f"type: {wanted[:20]!r} does not fit the query (it reads as {kind.value})"
        raise inputs.InvalidQuery(message, field="type")
    chain_id = transfer_params.chain_id(state.config, params.get("chainId"))

    async def build() -> dict[str, Any]:
        result = await lookups.search(state, text, chain_id)
        return document(state, result, await service.chain_state(state))

    ttl = state.config.settings.cache_ttl_search_seconds
    return await http_cache.respond(request, state, SECTION, ttl, (text, chain_id), build)


def document(state: AppState, result: SearchResult, snapshot: ChainState) -> dict[str, Any]:
    return {
        "success": True,
        "searchType": result.kind.value,
        "type": result.kind.value,
        "query": result.query,
        "chainId": result.chain_id,
        "source": "database" if result.found else "none",
        "found": result.found,
        "data": _data(state, result, snapshot) if result.found else None,
        "message": None if result.found else f"nothing stored for this {result.kind.value}",
    }


def _data(state: AppState, result: SearchResult, snapshot: ChainState) -> dict[str, Any]:
    if result.kind is SearchKind.ADDRESS and result.address is not None:
        balances = [
            item for item in result.address.balances
            if result.chain_id is None or item.chain.id == result.chain_id
        ]  # fmt: skip
        transfers = sum(item.transfers for item in balances)
        chains = sum(1 for item in balances if item.transfers)
        return {
            "address": result.query,
            "transferCount": transfers,
            "chainCount": chains,
            "message": f"{transfers} transfers on {chains} chains",
        }
    if result.kind is SearchKind.TRANSACTION:
        return _transaction(state, result, snapshot)
    return _block(state, result)


def _transaction(state: AppState, result: SearchResult, snapshot: ChainState) -> dict[str, Any]:
    first = result.transfers[0]
    names = {chain.id: chain.name for chain in state.config.chains}
    return {
        "hash": first.tx_hash,
        "blockNumber": str(first.block_number),
        "timeStamp": str(int(first.block_time.timestamp())),
        "from": first.from_address,
        "to": first.to_address,
        "value": str(first.value),
        "chainId": first.chain_id,
        "chainName": names.get(first.chain_id),
        "transfers": [transfer_rows.row(item, state.config, snapshot) for item in result.transfers],
    }


def _block(state: AppState, result: SearchResult) -> dict[str, Any]:
    names = {chain.id: chain.name for chain in state.config.chains}
    counts = result.block_chains
    total = sum(counts.values())
    return {
        "blockNumber": result.block,
        "chainId": next(iter(counts)) if len(counts) == 1 else result.chain_id,
        "transferCount": total,
        "chainCount": len(counts),
        "message": f"{total} transfers in block {result.block} on {len(counts)} chains",
        "chains": [
            {"chainId": chain_id, "chainName": names.get(chain_id), "transferCount": n}
            for chain_id, n in sorted(counts.items())
        ],
    }
