"""The legacy REST paths served so far, one module per path family."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from app.rest import cache, health


def routes() -> list[BaseRoute]:
    return [
        Route("/api/health", health.endpoint, methods=["GET"], name="api_health"),
        Route("/api/cache-health", cache.endpoint, methods=["GET"], name="api_cache_health"),
    ]
