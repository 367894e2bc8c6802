"""``GET /api/finality[?chainId=N]``: the legacy finalized-block answer, plus every chain.

The legacy backend reported Ethereum mainnet's ``finalized`` block, fetched per request
(legacy-api.md §6): ``{blockNumber, blockNumberHex, timestamp (ms), source}``. Those fields are
kept, for chain 1 or the chain of ``chainId``, and come from the worker's newest good probe
(``timestamp`` is when it was made; null fields while none is stored). ``chains`` adds every
enabled chain's detail (app.ops.finality, docs/finality.md). Served from the store only,
cached TTL_FINALITY (TOKENPULSE_CACHE_TTL_FINALITY_SECONDS, 15 s like the legacy cache).
A ``chainId`` that is not an enabled chain's id is a 400 ``invalid_chain``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.ops import finality as ops_finality
from app.ops import state as app_state
from app.ops.finality import FinalityView
from app.rest import http_cache, transfer_params

SECTION = "rest_finality"
LEGACY_CHAIN = 1  # Ethereum mainnet, as the legacy endpoint


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    chosen = transfer_params.chain_id(state.config, request.query_params.get("chainId"))
    chain_id = LEGACY_CHAIN if chosen is None else chosen

    async def build() -> dict[str, Any]:
        return document(await ops_finality.collect(state), chain_id)

    ttl = state.config.settings.cache_ttl_finality_seconds
    return await http_cache.respond(request, state, SECTION, ttl, chain_id, build)


def document(views: list[FinalityView], chain_id: int) -> dict[str, Any]:
    main = next((view for view in views if view.chain.id == chain_id), None)
    point = None if main is None else main.point
    stored = None if main is None else main.stored
    return {
        "blockNumber": point,
        "blockNumberHex": None if point is None else hex(point),
        "timestamp": None
        if stored is None or stored.observed_at is None
        else _ms(stored.observed_at),
        "source": None if stored is None else stored.source,
        "chainId": chain_id,
        "chains": [chain_document(view) for view in views],
    }


def chain_document(view: FinalityView) -> dict[str, Any]:
    row = view.stored
    return {
        "chainId": view.chain.id,
        "chainName": view.chain.name,
        "finality": str(view.chain.finality),
        "source": row.source if row else None,
        "latestBlock": row.latest_block if row else None,
        "safeBlock": row.safe_block if row else None,
        "finalizedBlock": row.finalized_block if row else None,
        "finalityBlock": view.point,
        "latestTime": _iso(row.latest_time if row else None),
        "finalizedTime": _iso(row.finalized_time if row else None),
        "lagBlocks": view.lag_blocks,
        "lagSeconds": view.lag_seconds,
        "lagEstimated": view.lag_estimated,
        "advancedAt": _iso(row.advanced_at if row else None),
        "sinceAdvancedSeconds": view.since_advanced_seconds,
        "observedAt": _iso(row.observed_at if row else None),
        "ageSeconds": view.age_seconds,
        "latencyMs": row.latency_ms if row else None,
        "lastProbeAt": _iso(row.last_observed_at if row else None),
        "lastProbeOk": row.last_ok if row else None,
        "lastOutcome": row.last_outcome if row else None,
        "lastError": None if row is None or row.last_ok else row.last_detail,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)
