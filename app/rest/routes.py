"""The legacy REST paths served so far, one module per path family."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from app.rest import (
    address,
    analytics,
    cache,
    chains,
    finality,
    health,
    holders,
    price,
    search,
    stats,
    totals,
    transfers,
)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/health", health.endpoint, methods=["GET"], name="api_health"),
        Route("/api/cache-health", cache.endpoint, methods=["GET"], name="api_cache_health"),
        Route("/api/transfers", transfers.endpoint, methods=["GET"], name="api_transfers"),
        Route("/api/search", search.endpoint, methods=["GET"], name="api_search"),
        Route("/api/address/{address}", address.endpoint, methods=["GET"], name="api_address"),
        Route("/api/chains", chains.endpoint, methods=["GET"], name="api_chains"),
        Route("/api/holders", holders.endpoint, methods=["GET"], name="api_holders"),
        Route("/api/stats", stats.endpoint, methods=["GET"], name="api_stats"),
        Route("/api/totals", totals.endpoint, methods=["GET"], name="api_totals"),
        Route("/api/info", totals.info_endpoint, methods=["GET"], name="api_info"),
        Route("/api/analytics", analytics.endpoint, methods=["GET"], name="api_analytics"),
        Route("/api/token-price", price.endpoint, methods=["GET"], name="api_token_price"),
        Route("/api/price", price.endpoint, methods=["GET"], name="api_price"),
        Route("/api/finality", finality.endpoint, methods=["GET"], name="api_finality"),
    ]
