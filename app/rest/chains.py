"""``GET /api/chains``: every configured chain with its coverage, totals and warm status.

No legacy endpoint had this (the frontend hard-coded the list); the REST counterpart of the
GraphQL ``chains`` field, plus each chain's stored transfers (``totalTransfers``, exact,
recounted per ingested batch) and ``availableChains`` as ``/api/transfers`` gives it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.domain import Chain
from app.ops import state as app_state
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.ops.transfer_service import ChainState
from app.rest import http_cache, transfer_rows

SECTION = "rest_chains"


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)

    async def build() -> dict[str, Any]:
        return await document(state)

    ttl = state.config.settings.cache_ttl_chains_seconds
    return await http_cache.respond(request, state, SECTION, ttl, "all", build)


async def document(state: AppState) -> dict[str, Any]:
    snapshot = await service.chain_state(state)
    totals = await service.chain_totals(state, [chain.id for chain in state.config.chains])
    return {
        "chains": [_chain(chain, snapshot, totals[chain.id]) for chain in state.config.chains],
        "availableChains": transfer_rows.available_chains(state.config),
        "timestamp": int(snapshot.read_at.timestamp() * 1000),  # stable bytes, stable ETag
    }


def _chain(chain: Chain, snapshot: ChainState, total: int) -> dict[str, Any]:
    row = snapshot.rows.get(chain.id, {})
    fresh = snapshot.freshness.get(chain.id, {})
    warm = snapshot.warm.get(chain.id)
    last_time = fresh.get("last_time")
    return {
        "id": chain.id,
        "name": chain.name,
        "slug": chain.slug,
        "provider": chain.provider.value,
        "tokenAddress": chain.token_address,
        "decimals": chain.decimals,
        "firstBlock": chain.first_block,
        "finality": str(chain.finality),
        "blockTimeSeconds": chain.block_time_seconds,
        "enabled": chain.enabled,
        "coverage": {
            "coveredBlocks": int(row.get("covered_blocks") or 0),
            "firstCoveredBlock": row.get("first_covered_block"),
            "lastCoveredBlock": row.get("last_covered_block"),
            "ranges": int(row.get("ranges") or 0),
            "complete": snapshot.complete(chain),
        },
        "totalTransfers": total,
        "warmStatus": warm.warm.value if warm else None,
        "lastBlock": fresh.get("last_block"),
        "lastTimestamp": None if last_time is None else int(last_time.timestamp()),
    }
