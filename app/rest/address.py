"""``GET /api/address/:address`` (legacy-api.md §1.8), from the store only.

The legacy endpoint asked every chain's explorer for a live ``tokenbalance``; here a balance
is what the stored transfers add up to (received - sent), with ``source: "store"`` and an
``accuracy``: ``exact`` where the chain's coverage is complete, else ``partial`` (see
app.ops.lookups). ``balance`` is the legacy float (token units, 6 decimal places);
``balanceRaw`` the exact raw amount as a string. An address that is not 0x + 40 hex digits is
a 400 ``invalid_address`` (legacy: ``{message: "Invalid address"}``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.ops import lookups
from app.ops import state as app_state
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.ops.lookups import AddressSummary, ChainBalance
from app.ops.state import AppState
from app.rest import http_cache, transfer_rows
from app.warm import WarmStatus

SECTION = "rest_address"


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    holder = inputs.address(request.path_params["address"], "address")

    async def build() -> dict[str, Any]:
        return await document(state, await lookups.address_summary(state, holder))

    ttl = state.config.settings.cache_ttl_address_seconds
    return await http_cache.respond(request, state, SECTION, ttl, holder, build)


def tokens(raw: int, decimals: int) -> float:
    """Raw units as the legacy float: token units rounded to 6 decimal places (exactly, then
    converted: a uint256 has more digits than a Decimal context or a float carries)."""
    return float(round(Fraction(raw, 10**decimals), 6))


async def document(state: AppState, summary: AddressSummary) -> dict[str, Any]:
    snapshot = await service.chain_state(state)
    balances = [_balance(item, snapshot) for item in summary.balances]
    decimals = state.config.token.decimals
    return {
        "address": summary.address,
        "tokenAddress": state.config.token.address,
        "balances": balances,
        "totalBalance": tokens(summary.total_balance, decimals),
        "totalBalanceRaw": str(summary.total_balance),
        "activity": {
            "transferCount": summary.transfer_count,
            "chainCount": summary.chain_count,
            "recentTransfers": [
                transfer_rows.row(item, state.config, snapshot) for item in summary.recent
            ],
        },
        "timestamp": int(snapshot.read_at.timestamp() * 1000),  # stable bytes, stable ETag
        "stale": any(item["stale"] for item in balances),
        "source": "store",
        "accuracy": summary.accuracy.value,
    }


def _balance(item: ChainBalance, snapshot: service.ChainState) -> dict[str, Any]:
    warm = snapshot.warm.get(item.chain.id)
    return {
        "chainId": item.chain.id,
        "chainName": item.chain.name,
        "balanceRaw": str(item.balance),
        "balance": tokens(item.balance, item.chain.decimals),
        "receivedRaw": str(item.received),
        "sentRaw": str(item.sent),
        "transferCount": item.transfers,
        "firstTime": transfer_rows.iso(item.first_time),
        "lastTime": transfer_rows.iso(item.last_time),
        "stale": warm is None or warm.warm in (WarmStatus.STALE, WarmStatus.COLD),
        "source": "store",
        "accuracy": item.accuracy.value,
    }
