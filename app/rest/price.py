"""``GET /api/token-price`` and ``GET /api/price``: the token's best price, from the store.

The legacy fields (legacy-api.md §6) plus ``stale``, ``ageSeconds``, ``best`` and
``sources[]`` (app.prices.view, docs/prices.md). The legacy endpoint called Etherscan,
CoinGecko and DexScreener on the request path and answered 500 when all failed; here the
worker's stored observations are read and nothing upstream is called. When every source is
failing the last-known-good price is served with ``stale: true``; only when no source ever
answered is ``priceUsd`` null (``available: false``, still HTTP 200). Query parameters are
ignored, as the legacy endpoint ignored them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from app import prices
from app.config import Settings
from app.ops import state as app_state
from app.ops.state import AppState
from app.prices import view
from app.store import prices as price_store

WINDOW_SECONDS = 3600.0  # observations behind each source's success rate and latency


def policy(settings: Settings) -> prices.PricePolicy:
    return prices.PricePolicy(
        stale_seconds=settings.price_stale_seconds, max_deviation=settings.price_max_deviation
    )


async def read_view(state: AppState) -> prices.PriceView:
    """Scores and best price from the stored observations and published breakers."""
    async with state.pool.connection() as conn:
        found = await price_store.read_inputs(conn, WINDOW_SECONDS)
    settings = state.config.settings
    return prices.assess(
        found.window,
        found.last_good,
        view.source_breakers(found.breakers),
        found.now,
        policy(settings),
        settings.price_source_list,
    )


async def endpoint(request: Request) -> JSONResponse:
    answer = await read_view(app_state.of(request))
    # Ages change every second: a shared cache would serve them wrong.
    return JSONResponse(view.payload(answer), headers={"cache-control": "no-cache"})
