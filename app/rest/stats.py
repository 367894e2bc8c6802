"""``GET /api/stats`` (legacy-api.md §1.4): holder counts per chain, from the store.

The legacy endpoint asked Etherscan for each chain's holder count (Cronos never: always
``holderCount: 0, unsupported: true``), with retries, a sticky last value and ``failed`` flags.
Here each count is the number of addresses (the zero address aside) with a positive balance
in the ``balances`` table, for every enabled chain, Cronos included, so the legacy
``unsupported``/``sticky``/``failed`` flags never appear. ``chains`` is sorted by
``holderCount`` (largest first, then chain id). Additions per chain: ``supply`` (raw units,
a string; null while coverage is incomplete), ``accuracy`` (``exact`` where coverage runs
from the chain's first block with no gap), ``complete``, ``coveredTo``, ``stale``; at the
top ``accuracy``, ``stale``, ``timestamp``, ``source``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.domain import Chain
from app.ops import holders
from app.ops import state as app_state
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.ops.transfer_service import Accuracy
from app.rest import http_cache
from app.store.balances import BalanceSummary
from app.warm import WarmStatus

SECTION = "rest_stats"


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)

    async def build() -> dict[str, Any]:
        return await document(state)

    ttl = state.config.settings.cache_ttl_holders_seconds
    return await http_cache.respond(request, state, SECTION, ttl, "all", build)


async def document(state: AppState) -> dict[str, Any]:
    snapshot = await service.chain_state(state)
    summaries = holders.by_chain(await holders.summaries(state))
    chains = [
        _chain(chain, summaries.get(chain.id), snapshot) for chain in state.config.enabled_chains
    ]
    chains.sort(key=lambda item: (-item["holderCount"], item["chainId"]))
    exact = all(item["accuracy"] == Accuracy.EXACT.value for item in chains)
    return {
        "totalHolders": sum(item["holderCount"] for item in chains),
        "chains": chains,
        "accuracy": (Accuracy.EXACT if exact else Accuracy.PARTIAL).value,
        "stale": any(item["stale"] for item in chains),
        "timestamp": int(snapshot.read_at.timestamp() * 1000),  # stable bytes, stable ETag
        "source": "store",
    }


def _chain(
    chain: Chain, summary: BalanceSummary | None, snapshot: service.ChainState
) -> dict[str, Any]:
    warm = snapshot.warm.get(chain.id)
    complete = summary is not None and summary.complete
    return {
        "chainName": chain.name,
        "chainId": chain.id,
        "holderCount": summary.holders if summary else 0,
        # Part of the history bounds no supply (mints outside it are missing): null, not 0.
        "supply": str(summary.supply) if summary is not None and complete else None,
        "accuracy": (Accuracy.EXACT if complete else Accuracy.PARTIAL).value,
        "complete": complete,
        "coveredTo": summary.covered_to if summary else None,
        "stale": warm is None or warm.warm in (WarmStatus.STALE, WarmStatus.COLD),
    }
